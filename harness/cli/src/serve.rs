//! `harness serve`: an HTTP scoring endpoint compatible with MLflow's scoring protocol, for any
//! workload's saved model.
//!
//! Routes (as MLflow's `pyfunc` scoring server): `POST /invocations` (JSON `dataframe_split` or
//! `dataframe_records`, answered with `{"predictions": [...]}`), `GET /ping`, `GET /health`,
//! `GET /version`. Malformed requests get 400 with `{"error_code": "BAD_REQUEST", "message"}`
//! naming the field ([`crate::protocol`]); a missing or non-JSON content type gets 415, as
//! MLflow's server answers (the body here is JSON with `"error_code": "UNSUPPORTED_MEDIA_TYPE"`
//! where MLflow's is plain text, so clients parse one error shape). The body is read as bytes and
//! parsed by us, so no extractor answers 422.
//!
//! Native models (LightGBM boosters) are often not `Send`: each runtime worker thread makes its
//! own [`Scorer`] on first use (thread-local), so requests never wait on a lock.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use harness_runtime::model::{Model, Scorer};
use serde_json::json;

/// What every request handler shares.
#[derive(Clone)]
struct Shared {
    model: Arc<dyn Model>,
    /// Distinguishes models if several servers run in one process (tests).
    id: usize,
}

thread_local! {
    static SCORER: RefCell<Option<(usize, Box<dyn Scorer>)>> = const { RefCell::new(None) };
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({"error_code": code, "message": message})),
    )
        .into_response()
}

fn score(shared: &Shared, x: &[f64]) -> Result<Vec<f64>, String> {
    SCORER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(id, _)| *id != shared.id) {
            let s = shared.model.scorer().map_err(|e| e.to_string())?;
            *slot = Some((shared.id, s));
        }
        let (_, s) = slot.as_ref().expect("set above");
        s.score(x).map_err(|e| e.to_string())
    })
}

async fn invocations(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    // MLflow's scoring server answers 415 to a missing content type too.
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
    if !ct
        .as_deref()
        .is_some_and(|ct| ct.starts_with("application/json"))
    {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            match ct {
                Some(ct) => format!("content type `{ct}` is not supported: send application/json"),
                None => "no Content-Type header: send Content-Type: application/json".into(),
            },
        );
    }
    let x = match crate::protocol::parse(&body, shared.model.features()) {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.0),
    };
    match score(&shared, &x) {
        Ok(p) => Json(json!({ "predictions": p })).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("scoring failed: {e}"),
        ),
    }
}

/// The router for `model`.
fn router(model: Arc<dyn Model>) -> Router {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let shared = Shared {
        model,
        id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    };
    Router::new()
        .route("/invocations", post(invocations))
        .route("/ping", get(|| async { "\n" }))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route(
            "/version",
            get(|State(s): State<Shared>| async move {
                Json(json!({"harness": env!("CARGO_PKG_VERSION"), "model": s.model.meta()}))
            }),
        )
        .with_state(shared)
}

/// Serves `model` on `host:port` with `workers` runtime threads until Ctrl-C / SIGTERM.
///
/// # Errors
/// The address cannot be bound or the runtime cannot start.
pub fn serve(model: Arc<dyn Model>, host: &str, port: u16, workers: usize) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_io()
        .build()
        .context("cannot start the HTTP runtime")?;
    let what = model.describe();
    let app = router(model);
    rt.block_on(async move {
        let addr: SocketAddr = format!("{host}:{port}").parse().with_context(|| {
            format!("`{host}:{port}` is not an address (e.g. --host 127.0.0.1 --port 5001)")
        })?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (port in use?)"))?;
        eprintln!(
            "serving {what} on http://{}  — POST /invocations, GET /ping /health /version",
            listener.local_addr()?
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("server failed")
    })
}
