/* End-to-end test of the jellyscale C ABI against the real library and a real ffmpeg.
 *
 * Usage: ffi_test CLIP CACHE_DIR
 * Runs the whole life of a job on CLIP (start, segment 0 through the callback, playlist,
 * status until done, the final file) and every error path. Prints one line per check and
 * exits 0 only if every check passed. Built by tests/ffi_c.rs with -Wall -Wextra -Werror. */
#define _POSIX_C_SOURCE 200809L

#include "jellyscale.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
static int passes = 0;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passes++;                                                                              \
            printf("ok   - ");                                                                     \
        } else {                                                                                   \
            failures++;                                                                            \
            printf("FAIL - ");                                                                     \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

/* ---------- small helpers ---------- */

/* Copies the string value of "key" in a flat JSON object into out; returns 0 when absent/null. */
static int json_string(const char *json, const char *key, char *out, size_t cap) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *p = json ? strstr(json, needle) : NULL;
    if (!p) return 0;
    p += strlen(needle);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < cap) n++;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

/* The integer value of "key" in a flat JSON object, or -1. */
static long json_int(const char *json, const char *key) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    const char *p = json ? strstr(json, needle) : NULL;
    return p ? strtol(p + strlen(needle), NULL, 10) : -1;
}

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

static int file_size(const char *path, long long *size) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    *size = (long long)st.st_size;
    return 1;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A one-shot wait for a segment callback. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fired;
    JellyscaleStatus status;
    char json[4096];
} Waiter;

static void waiter_init(Waiter *w) {
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->fired = 0;
    w->status = JELLYSCALE_STATUS_INTERNAL;
    w->json[0] = '\0';
}

static void waiter_destroy(Waiter *w) {
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

static void on_segment(void *user_data, JellyscaleStatus status, const char *json) {
    Waiter *w = (Waiter *)user_data;
    pthread_mutex_lock(&w->lock);
    w->fired++;
    w->status = status;
    snprintf(w->json, sizeof w->json, "%s", json ? json : "(null)");
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Waits until the callback fired (returns 1) or `seconds` passed (returns 0). */
static int waiter_wait(Waiter *w, int seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += seconds;
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->fired && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
    int fired = w->fired;
    pthread_mutex_unlock(&w->lock);
    return fired > 0;
}

static int waiter_fired(Waiter *w) {
    pthread_mutex_lock(&w->lock);
    int fired = w->fired;
    pthread_mutex_unlock(&w->lock);
    return fired;
}

static atomic_int log_events;
static atomic_int log_bad;

static void on_log(void *user_data, uint32_t level, const char *target, const char *message) {
    if (user_data != (void *)&log_events || level < 1 || level > 5 || !target || !message) atomic_fetch_add(&log_bad, 1);
    atomic_fetch_add(&log_events, 1);
}

/* Calls an out-string function's result check and frees the string. */
static void expect_error(JellyscaleStatus got, JellyscaleStatus want, char *json, const char *code, const char *what) {
    CHECK(got == want, "%s -> status %u (want %u)", what, (unsigned)got, (unsigned)want);
    if (json || code) {
        CHECK(contains(json, code) && contains(json, "\"message\""), "%s -> error JSON %s", what, json ? json : "(null)");
    }
    jellyscale_string_free(json);
}

static const char BAD_UTF8[] = {'{', '"', (char)0xff, (char)0xfe, '"', '}', 0};
static const char UNKNOWN_ID[] = "00000000000000000000000000000000";

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s CLIP CACHE_DIR\n", argv[0]);
        return 2;
    }
    const char *clip = argv[1];
    const char *cache = argv[2];
    char config[1024], request[1024], json_buf[1024];
    JellyscaleEngine *engine = NULL;
    char *out = NULL;
    char *err = NULL;
    JellyscaleStatus st;

    CHECK(jellyscale_abi_version() == 1, "abi version is 1");
    CHECK(JELLYSCALE_ABI_VERSION == 1, "header ABI version is 1");
    jellyscale_set_log_callback(on_log, (void *)&log_events);

    /* ---------- engine_new errors ---------- */
    err = NULL;
    st = jellyscale_engine_new(NULL, &engine, &err);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, err, "invalid_argument", "engine_new(NULL config)");
    CHECK(engine == NULL, "engine_new failure leaves out_engine alone");
    st = jellyscale_engine_new("{}", NULL, &err);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, err, "out_engine", "engine_new(NULL out_engine)");
    st = jellyscale_engine_new(BAD_UTF8, &engine, &err);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, err, "UTF-8", "engine_new(invalid UTF-8)");
    st = jellyscale_engine_new("{\"cache_dir\": ", &engine, &err);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, err, "invalid_argument", "engine_new(malformed JSON)");
    st = jellyscale_engine_new("{\"segment_second\": 2}", &engine, &err);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, err, "segment_second", "engine_new(unknown field)");
    st = jellyscale_engine_new("{\"segment_seconds\": 0}", &engine, NULL);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "engine_new(out of range, NULL error out)");
    snprintf(config, sizeof config, "{\"backend\":\"cpu\",\"cache_dir\":\"%s\",\"ffmpeg_path\":\"/nonexistent/ffmpeg\"}", cache);
    st = jellyscale_engine_new(config, &engine, &err);
    expect_error(st, JELLYSCALE_STATUS_FFMPEG, err, "\"ffmpeg\"", "engine_new(bogus ffmpeg path)");
    CHECK(engine == NULL, "no engine after failures");

    /* ---------- engine_new ---------- */
    snprintf(config, sizeof config,
             "{\"backend\":\"cpu\",\"cache_dir\":\"%s\",\"segment_seconds\":2,\"cpu_preset\":\"ultrafast\"}", cache);
    err = (char *)1; /* must be overwritten with NULL on success */
    st = jellyscale_engine_new(config, &engine, &err);
    CHECK(st == JELLYSCALE_STATUS_OK && engine != NULL, "engine_new(valid config) -> OK");
    CHECK(err == NULL, "engine_new success sets out_error_json to NULL");
    if (st != JELLYSCALE_STATUS_OK) {
        jellyscale_string_free(err == (char *)1 ? NULL : err);
        printf("cannot continue without an engine\n");
        return 1;
    }

    /* ---------- start_stream errors ---------- */
    snprintf(request, sizeof request, "{\"input\":\"%s\"}", clip);
    st = jellyscale_start_stream(NULL, request, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "engine", "start_stream(NULL engine)");
    out = NULL;
    st = jellyscale_start_stream(engine, NULL, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "request_json", "start_stream(NULL request)");
    out = NULL;
    st = jellyscale_start_stream(engine, request, NULL);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "start_stream(NULL out_json)");
    st = jellyscale_start_stream(engine, BAD_UTF8, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "UTF-8", "start_stream(invalid UTF-8)");
    out = NULL;
    st = jellyscale_start_stream(engine, "{\"input\":", &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "invalid_argument", "start_stream(malformed JSON)");
    out = NULL;
    snprintf(json_buf, sizeof json_buf, "{\"input\":\"%s\",\"colour\":1}", clip);
    st = jellyscale_start_stream(engine, json_buf, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "colour", "start_stream(unknown field)");
    out = NULL;
    snprintf(json_buf, sizeof json_buf,
             "{\"input\":\"%s\",\"media\":{\"duration\":20,\"width\":320,\"height\":180,\"fps\":0,"
             "\"video_codec\":\"h264\",\"bit_depth\":8,\"video_index\":0,\"audio\":[]}}",
             clip);
    st = jellyscale_start_stream(engine, json_buf, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "frame rate", "start_stream(implausible media description)");
    out = NULL;
    snprintf(json_buf, sizeof json_buf, "{\"input\":\"%s\",\"media\":{\"width\":320}}", clip);
    st = jellyscale_start_stream(engine, json_buf, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "duration", "start_stream(incomplete media description)");
    out = NULL;
    snprintf(json_buf, sizeof json_buf, "{\"input\":\"%s\",\"copy_fallback\":\"yes\"}", clip);
    st = jellyscale_start_stream(engine, json_buf, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "expected a boolean", "start_stream(copy_fallback not a boolean)");
    out = NULL;
    snprintf(json_buf, sizeof json_buf, "{\"input\":\"%s/does-not-exist.mkv\"}", cache);
    st = jellyscale_start_stream(engine, json_buf, &out);
    expect_error(st, JELLYSCALE_STATUS_BAD_INPUT, out, "bad_input", "start_stream(missing input file)");
    out = NULL;

    /* ---------- unknown ids and other lookups ---------- */
    st = jellyscale_status(engine, UNKNOWN_ID, &out);
    expect_error(st, JELLYSCALE_STATUS_NOT_FOUND, out, "not_found", "status(unknown id)");
    out = NULL;
    st = jellyscale_status(engine, "nope", &out);
    expect_error(st, JELLYSCALE_STATUS_NOT_FOUND, out, "not_found", "status(malformed id)");
    out = NULL;
    st = jellyscale_status(engine, NULL, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "job_id", "status(NULL id)");
    out = NULL;
    st = jellyscale_status(engine, BAD_UTF8, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "UTF-8", "status(invalid UTF-8 id)");
    out = NULL;
    st = jellyscale_status(engine, UNKNOWN_ID, NULL);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "status(NULL out_json)");
    st = jellyscale_cancel(engine, UNKNOWN_ID);
    expect_error(st, JELLYSCALE_STATUS_NOT_FOUND, NULL, NULL, "cancel(unknown id)");
    st = jellyscale_cancel(engine, NULL);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "cancel(NULL id)");
    st = jellyscale_cancel(NULL, UNKNOWN_ID);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "cancel(NULL engine)");
    st = jellyscale_playlist(engine, UNKNOWN_ID, "a=b", &out);
    expect_error(st, JELLYSCALE_STATUS_NOT_FOUND, out, "not_found", "playlist(unknown id)");
    out = NULL;
    st = jellyscale_playlist(engine, UNKNOWN_ID, NULL, NULL);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "playlist(NULL out_m3u8)");
    st = jellyscale_list_jobs(engine, NULL);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, NULL, NULL, "list_jobs(NULL out_json)");
    st = jellyscale_list_jobs(NULL, &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "engine", "list_jobs(NULL engine)");
    out = NULL;
    {
        Waiter never;
        waiter_init(&never);
        st = jellyscale_wait_segment(engine, UNKNOWN_ID, 0, 1000, on_segment, &never);
        CHECK(st == JELLYSCALE_STATUS_NOT_FOUND, "wait_segment(unknown id) -> NOT_FOUND");
        st = jellyscale_wait_segment(engine, NULL, 0, 1000, on_segment, &never);
        CHECK(st == JELLYSCALE_STATUS_INVALID_ARGUMENT, "wait_segment(NULL id) -> INVALID_ARGUMENT");
        st = jellyscale_wait_segment(engine, BAD_UTF8, 0, 1000, on_segment, &never);
        CHECK(st == JELLYSCALE_STATUS_INVALID_ARGUMENT, "wait_segment(invalid UTF-8 id) -> INVALID_ARGUMENT");
        st = jellyscale_wait_segment(NULL, UNKNOWN_ID, 0, 1000, on_segment, &never);
        CHECK(st == JELLYSCALE_STATUS_INVALID_ARGUMENT, "wait_segment(NULL engine) -> INVALID_ARGUMENT");
        CHECK(waiter_fired(&never) == 0, "rejected waits never call back");
        waiter_destroy(&never);
    }
    jellyscale_engine_free(NULL);
    jellyscale_string_free(NULL);
    CHECK(1, "engine_free(NULL) and string_free(NULL) are no-ops");

    /* ---------- the life of a job ---------- */
    char job[64] = "";
    st = jellyscale_start_stream(engine, request, &out);
    CHECK(st == JELLYSCALE_STATUS_OK, "start_stream -> OK");
    CHECK(json_string(out, "job_id", job, sizeof job) && strlen(job) == 32, "start_stream returns a job id (%s)", job);
    CHECK(contains(out, "\"state\":"), "start_stream returns the status JSON");
    jellyscale_string_free(out);
    out = NULL;

    st = jellyscale_start_stream(engine, request, &out);
    char again[64] = "";
    CHECK(st == JELLYSCALE_STATUS_OK && json_string(out, "job_id", again, sizeof again) && strcmp(job, again) == 0,
          "the same request joins the same job");
    jellyscale_string_free(out);
    out = NULL;

    st = jellyscale_wait_segment(engine, job, 100000, 1000, on_segment, NULL);
    CHECK(st == JELLYSCALE_STATUS_NOT_FOUND, "wait_segment(index past the end) -> NOT_FOUND");
    st = jellyscale_wait_segment(engine, job, 0, 1000, NULL, NULL);
    CHECK(st == JELLYSCALE_STATUS_INVALID_ARGUMENT, "wait_segment(NULL callback) -> INVALID_ARGUMENT");

    Waiter seg0;
    waiter_init(&seg0);
    st = jellyscale_wait_segment(engine, job, 0, 120000, on_segment, &seg0);
    CHECK(st == JELLYSCALE_STATUS_OK, "wait_segment(0) registered");
    CHECK(waiter_wait(&seg0, 150), "segment 0 callback fired");
    CHECK(seg0.status == JELLYSCALE_STATUS_OK, "segment 0 ready (status %u: %s)", (unsigned)seg0.status, seg0.json);
    {
        char path[1024] = "";
        long long size = 0;
        CHECK(contains(seg0.json, "\"index\":0") && contains(seg0.json, "\"offset\":") &&
                  contains(seg0.json, "\"length\":") && contains(seg0.json, "\"init_path\":null"),
              "segment JSON has index, offset, length, init_path: %s", seg0.json);
        CHECK(json_string(seg0.json, "path", path, sizeof path) && path[0] == '/' && file_size(path, &size) && size > 0,
              "segment file %s exists (%lld bytes)", path, size);
    }
    waiter_destroy(&seg0);

    st = jellyscale_playlist(engine, job, "api_key=abc", &out);
    CHECK(st == JELLYSCALE_STATUS_OK && contains(out, "#EXT-X-ENDLIST") && contains(out, "0.ts?api_key=abc"),
          "playlist has ENDLIST and the query");
    jellyscale_string_free(out);
    out = NULL;
    st = jellyscale_playlist(engine, job, NULL, &out);
    CHECK(st == JELLYSCALE_STATUS_OK && contains(out, "#EXTM3U") && !contains(out, "?"), "playlist with a NULL query has no query");
    jellyscale_string_free(out);
    out = NULL;

    st = jellyscale_playlist(engine, job, "api_key=a\r\n#EXT-X-ENDLIST", &out);
    expect_error(st, JELLYSCALE_STATUS_INVALID_ARGUMENT, out, "invalid_argument", "playlist(query with CR/LF)");
    out = NULL;

    /* The front door: what a server sends for each path of the stream. */
    {
        Waiter w;
        waiter_init(&w);
        st = jellyscale_request(engine, job, "master.m3u8", "api_key=abc", NULL, 1000, on_segment, &w);
        CHECK(st == JELLYSCALE_STATUS_OK && waiter_wait(&w, 30) && w.status == JELLYSCALE_STATUS_OK &&
                  json_int(w.json, "http_status") == 200 && contains(w.json, "fallback/main.m3u8?api_key=abc") &&
                  contains(w.json, "application/vnd.apple.mpegurl"),
              "request(master.m3u8) -> 200 with the rungs and the query: %s", w.json);
        waiter_destroy(&w);

        waiter_init(&w);
        st = jellyscale_request(engine, job, "0.ts", NULL, "bytes=0-187", 60000, on_segment, &w);
        CHECK(st == JELLYSCALE_STATUS_OK && waiter_wait(&w, 90) && w.status == JELLYSCALE_STATUS_OK &&
                  json_int(w.json, "http_status") == 206 && json_int(w.json, "length") == 188 &&
                  contains(w.json, "\"content_range\":\"bytes 0-187/"),
              "request(0.ts, bytes=0-187) -> 206, one TS packet: %s", w.json);
        long fd = json_int(w.json, "fd");
        unsigned char sync = 0;
        CHECK(fd >= 0 && pread((int)fd, &sync, 1, json_int(w.json, "offset")) == 1 && sync == 0x47,
              "the descriptor reads the segment's first TS packet (fd %ld)", fd);
        if (fd >= 0) close((int)fd);
        waiter_destroy(&w);

        waiter_init(&w);
        st = jellyscale_request(engine, job, "007.ts", NULL, NULL, 1000, on_segment, &w);
        CHECK(st == JELLYSCALE_STATUS_OK && waiter_wait(&w, 30) && w.status == JELLYSCALE_STATUS_NOT_FOUND &&
                  json_int(w.json, "http_status") == 404,
              "request(007.ts) -> NOT_FOUND, 404: %s", w.json);
        waiter_destroy(&w);

        waiter_init(&w);
        st = jellyscale_request(engine, job, NULL, NULL, NULL, 1000, on_segment, &w);
        CHECK(st == JELLYSCALE_STATUS_INVALID_ARGUMENT && waiter_fired(&w) == 0, "request(NULL path) -> INVALID_ARGUMENT, no callback");
        waiter_destroy(&w);
    }

    st = jellyscale_list_jobs(engine, &out);
    CHECK(st == JELLYSCALE_STATUS_OK && out && out[0] == '[' && contains(out, job), "list_jobs has the job");
    jellyscale_string_free(out);
    out = NULL;

    char state[32] = "";
    double deadline = now_seconds() + 240.0;
    while (now_seconds() < deadline) {
        st = jellyscale_status(engine, job, &out);
        if (st != JELLYSCALE_STATUS_OK) break;
        json_string(out, "state", state, sizeof state);
        if (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0) break;
        jellyscale_string_free(out);
        out = NULL;
        sleep_ms(200);
    }
    CHECK(st == JELLYSCALE_STATUS_OK && strcmp(state, "done") == 0, "job reaches done (state %s)", state);
    {
        char final_path[1024] = "";
        long long size = 0;
        CHECK(json_string(out, "final_path", final_path, sizeof final_path) && file_size(final_path, &size) && size > 0,
              "final file %s exists (%lld bytes)", final_path, size);
        jellyscale_string_free(out);
        out = NULL;

        Waiter done_seg;
        waiter_init(&done_seg);
        st = jellyscale_wait_segment(engine, job, 1, 0, on_segment, &done_seg);
        CHECK(st == JELLYSCALE_STATUS_OK && waiter_wait(&done_seg, 30) && done_seg.status == JELLYSCALE_STATUS_OK &&
                  contains(done_seg.json, final_path),
              "a segment of a done job is a range of the final file: %s", done_seg.json);
        waiter_destroy(&done_seg);
    }
    CHECK(atomic_load(&log_events) > 0 && atomic_load(&log_bad) == 0, "log callback received %d events",
          atomic_load(&log_events));

    st = jellyscale_cancel(engine, job);
    CHECK(st == JELLYSCALE_STATUS_OK, "cancel(done job) -> OK");
    st = jellyscale_cancel(engine, job);
    CHECK(st == JELLYSCALE_STATUS_OK, "double cancel -> OK");

    /* ---------- cancel, timeout, and free with a wait pending ---------- */
    snprintf(json_buf, sizeof json_buf, "{\"input\":\"%s\",\"codec\":\"hevc\"}", clip);
    char job2[64] = "";
    st = jellyscale_start_stream(engine, json_buf, &out);
    CHECK(st == JELLYSCALE_STATUS_OK && json_string(out, "job_id", job2, sizeof job2) && strcmp(job, job2) != 0,
          "a second profile is a second job");
    long count = json_int(out, "segment_count");
    uint32_t last = count > 0 ? (uint32_t)(count - 1) : 0;
    CHECK(count >= 2, "the clip has %ld segments", count);
    jellyscale_string_free(out);
    out = NULL;
    {
        Waiter timeout;
        waiter_init(&timeout);
        st = jellyscale_wait_segment(engine, job2, last, 1, on_segment, &timeout);
        CHECK(st == JELLYSCALE_STATUS_OK && waiter_wait(&timeout, 30) && timeout.status == JELLYSCALE_STATUS_TIMEOUT &&
                  contains(timeout.json, "\"timeout\""),
              "a short wait times out: %s", timeout.json);
        waiter_destroy(&timeout);

        Waiter cancelled;
        waiter_init(&cancelled);
        st = jellyscale_wait_segment(engine, job2, last, 120000, on_segment, &cancelled);
        CHECK(st == JELLYSCALE_STATUS_OK, "wait on the second job registered");
        CHECK(jellyscale_cancel(engine, job2) == JELLYSCALE_STATUS_OK, "cancel(running job) -> OK");
        CHECK(jellyscale_cancel(engine, job2) == JELLYSCALE_STATUS_OK, "cancel it again -> OK");
        CHECK(waiter_wait(&cancelled, 60) && cancelled.status == JELLYSCALE_STATUS_CANCELLED,
              "cancel fires the pending wait with CANCELLED (status %u: %s)", (unsigned)cancelled.status, cancelled.json);
        waiter_destroy(&cancelled);
    }

    st = jellyscale_start_stream(engine, json_buf, &out);
    char job3[64] = "";
    CHECK(st == JELLYSCALE_STATUS_OK && json_string(out, "job_id", job3, sizeof job3), "restart after cancel -> OK");
    jellyscale_string_free(out);
    out = NULL;
    Waiter pending;
    waiter_init(&pending);
    st = jellyscale_wait_segment(engine, job3, last, 600000, on_segment, &pending);
    CHECK(st == JELLYSCALE_STATUS_OK, "wait registered before engine_free");
    jellyscale_engine_free(engine);
    engine = NULL;
    CHECK(waiter_fired(&pending) == 1 &&
              (pending.status == JELLYSCALE_STATUS_SHUTTING_DOWN || pending.status == JELLYSCALE_STATUS_CANCELLED),
          "engine_free fired the pending wait before returning (status %u: %s)", (unsigned)pending.status, pending.json);
    sleep_ms(200);
    CHECK(waiter_fired(&pending) == 1, "and only once");
    waiter_destroy(&pending);

    jellyscale_set_log_callback(NULL, NULL);
    int before = atomic_load(&log_events);
    snprintf(config, sizeof config, "{\"backend\":\"cpu\",\"cache_dir\":\"%s\",\"ffmpeg_path\":\"/nonexistent\"}", cache);
    st = jellyscale_engine_new(config, &engine, NULL);
    CHECK(st == JELLYSCALE_STATUS_FFMPEG && atomic_load(&log_events) == before, "a cleared log callback is not called");

    printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
