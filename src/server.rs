//! A small HLS server over one job, for `jellyscale serve`: the same waiting rule the Jellyfin
//! plugin uses (a segment request waits, bounded, until the segment exists; a far request moves
//! the encoder). URLs never reach the file system: only parsed numbers do.

use crate::engine::EngineHandle;
use crate::error::{Error, ErrorCode};
use crate::job::FileSlice;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How long a segment request may wait for the encoder.
pub const SEGMENT_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct AppState {
    engine: EngineHandle,
    job_id: String,
}

/// The router serving `master.m3u8`, `main.m3u8`, `init.mp4`, `N.ts`/`N.m4s` and `status` of
/// the job, and the same files of its cheaper rungs under `/lower/` and `/fallback/`.
pub fn router(engine: EngineHandle, job_id: String) -> Router {
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::temporary("/master.m3u8") }))
        .route("/{name}", get(serve_job_file))
        .route("/{rung}/{name}", get(serve_rung_file))
        .with_state(AppState { engine, job_id })
}

async fn serve_job_file(State(s): State<AppState>, Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    let id = s.job_id.clone();
    serve_file(&s.engine, &id, &name, query.unwrap_or_default()).await
}

async fn serve_rung_file(
    State(s): State<AppState>,
    Path((rung, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let id = s
        .engine
        .job(&s.job_id)
        .ok()
        .and_then(|j| j.rungs().iter().find(|r| r.role().name() == rung).map(|r| r.id().to_owned()));
    match id {
        Some(id) if name != "master.m3u8" => serve_file(&s.engine, &id, &name, query.unwrap_or_default()).await,
        _ => error_response(Error::not_found("no such resource")),
    }
}

fn error_response(e: Error) -> Response {
    let status = match e.code {
        ErrorCode::NotFound | ErrorCode::InvalidArgument => StatusCode::NOT_FOUND,
        ErrorCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Cancelled | ErrorCode::ShuttingDown => StatusCode::GONE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, [(header::CONTENT_TYPE, "application/json")], e.to_json()).into_response()
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn serve_file(engine: &EngineHandle, id: &str, name: &str, query: String) -> Response {
    let result = match name {
        "master.m3u8" => engine.master_playlist(id, &query).map(|t| text("application/vnd.apple.mpegurl", t)),
        "main.m3u8" => engine.playlist(id, &query).map(|t| text("application/vnd.apple.mpegurl", t)),
        "status" => {
            engine.status(id).map(|st| text("application/json", serde_json::to_string(&st).unwrap_or_default()))
        }
        "init.mp4" => match engine.job(id) {
            Ok(job) => match job.wait_init(SEGMENT_WAIT).await {
                Ok(slice) => send_slice(slice, "video/mp4").await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        _ => match parse_segment_name(name) {
            Some((index, ext)) => serve_segment(engine, id, index, ext).await,
            None => Err(Error::not_found("no such resource")),
        },
    };
    result.unwrap_or_else(error_response)
}

/// `"12.ts"` → `(12, "ts")`; anything but plain digits and a known extension is refused.
pub fn parse_segment_name(name: &str) -> Option<(u32, &str)> {
    let (digits, ext) = name.split_once('.')?;
    let ok = !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit());
    (ok && matches!(ext, "ts" | "m4s")).then(|| Some((digits.parse().ok()?, ext)))?
}

async fn serve_segment(engine: &EngineHandle, id: &str, index: u32, ext: &str) -> Result<Response, Error> {
    let job = engine.job(id)?;
    if ext != job.plan().container().segment_ext() {
        return Err(Error::not_found("wrong segment type for this stream"));
    }
    let mime = if ext == "ts" { "video/mp2t" } else { "video/iso.segment" };
    // The segment files are freed once the finished file holds them: ask again on a miss.
    for _ in 0..2 {
        let info = job.wait_segment(index, SEGMENT_WAIT).await?;
        match send_slice(info.data, mime).await {
            Err(e) if e.code == ErrorCode::Io => continue,
            other => return other,
        }
    }
    Err(Error::new(ErrorCode::Io, "segment moved while being opened"))
}

async fn send_slice(slice: FileSlice, mime: &'static str) -> Result<Response, Error> {
    let mut file = tokio::fs::File::open(&slice.path).await.map_err(|e| Error::io("cannot open", &slice.path, e))?;
    file.seek(std::io::SeekFrom::Start(slice.offset)).await.map_err(|e| Error::io("cannot seek", &slice.path, e))?;
    // Large reads: each one is a trip through tokio's blocking pool, and 4 KiB chunks made
    // serving a segment six times slower than the plugin's (BENCHMARKS.md).
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file.take(slice.length), 256 * 1024));
    Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CONTENT_LENGTH, slice.length)
        .body(body)
        .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_segment_name;

    #[test]
    fn only_plain_segment_names_parse() {
        assert_eq!(parse_segment_name("12.ts"), Some((12, "ts")));
        assert_eq!(parse_segment_name("0.m4s"), Some((0, "m4s")));
        for bad in
            ["..", "../etc/passwd", "1.ts.tmp", "-1.ts", "1.mp4", ".ts", "9999999.ts", "1%2F.ts", "a.ts", "1.ts\0"]
        {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }
}
