//! A small HLS server over one job, for `jellyscale serve`: an HTTP adapter over the front door
//! ([`crate::serving`]), which decides what every path gets; this file only turns its replies
//! and errors into HTTP.

use crate::engine::EngineHandle;
use crate::error::{Error, ErrorCode};
use crate::serving::{self, Reply};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How long a segment request may wait for the encoder.
pub const SEGMENT_WAIT: Duration = Duration::from_secs(60);

/// How long a connection may take to send a request's head, and sit idle between requests
/// (players ask every few seconds; one that pauses longer opens a new connection).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves `app` on `listener` until `shutdown` resolves: HTTP/1.1 with TCP_NODELAY, and
/// every connection closed once it spends `head_timeout` sending a request's head or idle
/// between requests (a request being answered, a segment being waited for, is not idle).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    head_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: the next accept may work.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        // Segments go out in many small writes: without TCP_NODELAY, Nagle's algorithm held
        // each response back ~60 ms (measured in benches/serving.rs).
        let _ = tcp.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(head_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
            if let Err(e) = served {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}

#[derive(Clone)]
struct AppState {
    engine: EngineHandle,
    job_id: String,
}

/// The router serving the job's stream (see [`crate::serving`] for the paths) to pages of any
/// origin (`Access-Control-Allow-Origin: *`).
pub fn router(engine: EngineHandle, job_id: String) -> Router {
    router_with(engine, job_id, Some(HeaderValue::from_static("*")))
}

/// [`router`], answering CORS for `allow_origin` only (none: no CORS headers, same-origin
/// players only). hls.js on another origin's page needs them, and a preflight for its Range
/// requests.
pub fn router_with(engine: EngineHandle, job_id: String, allow_origin: Option<HeaderValue>) -> Router {
    let app = Router::new()
        .route("/", get(|| async { axum::response::Redirect::temporary("/master.m3u8") }))
        .route("/{*path}", get(serve_path).options(|| async { StatusCode::NO_CONTENT }))
        .with_state(AppState { engine, job_id });
    match allow_origin {
        Some(origin) => app.layer(axum::middleware::map_response(move |r: Response| cors(r, origin.clone()))),
        None => app,
    }
}

/// Adds the CORS headers a cross-origin HLS player needs to every answer.
async fn cors(mut response: Response, origin: HeaderValue) -> Response {
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Range"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Content-Length, Content-Range"));
    response
}

async fn serve_path(
    State(s): State<AppState>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    match serving::resolve(&s.engine, &s.job_id, &path, &query.unwrap_or_default(), range, SEGMENT_WAIT).await {
        Ok(reply) => respond(reply).await.unwrap_or_else(error_response),
        Err(e) => error_response(e),
    }
}

/// A shared text as a response body, without a copy.
struct Shared(std::sync::Arc<str>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

fn error_response(e: Error) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], e.to_json()).into_response()
}

async fn respond(reply: Reply) -> Result<Response, Error> {
    let status = StatusCode::from_u16(reply.http_status()).unwrap_or(StatusCode::OK);
    let mut builder = Response::builder().status(status).header(header::ACCEPT_RANGES, "bytes");
    if let Some(range) = reply.content_range() {
        builder = builder.header(header::CONTENT_RANGE, range);
    }
    let built = match reply {
        Reply::Text { mime, body } => {
            let body = Body::from(axum::body::Bytes::from_owner(Shared(body)));
            builder.header(header::CONTENT_TYPE, mime).header(header::CACHE_CONTROL, "no-cache").body(body)
        }
        Reply::File { mime, file, offset, length, .. } => {
            let mut file = tokio::fs::File::from_std(file);
            file.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| Error::new(ErrorCode::Io, e.to_string()))?;
            // Large reads: each one is a trip through tokio's blocking pool, and 4 KiB chunks
            // made serving a segment six times slower than the plugin's (BENCHMARKS.md).
            let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file.take(length), 256 * 1024));
            builder
                .header(header::CONTENT_TYPE, mime)
                .header(header::CONTENT_LENGTH, HeaderValue::from(length))
                .body(body)
        }
        Reply::RangeNotSatisfiable { .. } => builder.body(Body::empty()),
    };
    built.map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}
