//! The `fieldproof` server: start-up, the console API under `/api/v1`, the mobile API under
//! `/mobile/v1`, health and metrics, and the in-process media worker. Everything takes an
//! injected listener and shutdown signal so tests start the real app on port 0.

mod console;
mod dto;
mod metrics;
mod routes;

use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use fieldproof_core::auth::Passwords;
use fieldproof_core::config::Settings;
use fieldproof_core::service::{accounts, audit, exports, housekeeping, reminders};
use fieldproof_core::storage::ObjectStore;
use fieldproof_core::store::Store;
use fieldproof_core::web::PeerAddr;
use fieldproof_core::{ApiError, App};
use fieldproof_media_worker::Worker;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use metrics::Metrics;

/// Most database connections one process opens.
const MAX_DB_CONNECTIONS: u32 = 16;

/// Connects the store and object storage named by `settings` and applies migrations.
pub async fn open_app(settings: Settings) -> anyhow::Result<App> {
    fieldproof_core::sms::install_tls_provider();
    tokio::fs::create_dir_all(&settings.data_dir)
        .await
        .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    let store = Store::connect(&settings.database_url(), MAX_DB_CONNECTIONS)
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("applying migrations")?;
    let objects = ObjectStore::open(&settings)
        .await
        .context("opening object storage")?;
    let passwords = Passwords::new(2).context("preparing password hashing")?;
    tracing::info!(
        database = store.kind(),
        storage = objects.kind(),
        "storage opened"
    );
    Ok(App::new(settings, store, objects, passwords))
}

/// Creates the first admin if there are no users; returns a generated password to show once.
pub async fn bootstrap_admin(app: &App) -> anyhow::Result<Option<String>> {
    match accounts::ensure_admin(app)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        Some((password, true)) => Ok(Some(password)),
        Some((_, false)) => {
            tracing::info!("created user `admin` with the configured password");
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The whole HTTP surface.
pub fn router(app: App, metrics: Metrics) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let json_limit = app.settings.max_json_bytes;
    Router::new()
        .nest("/api/v1", routes::api())
        .nest("/mobile/v1", fieldproof_mobile_api::router(app.clone()))
        .merge(routes::health::router())
        .merge(console::router())
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound("route") })
        .with_state(app.clone())
        .layer(axum::middleware::from_fn_with_state(
            app,
            fieldproof_core::web::idempotency::idempotent_posts,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(json_limit))
        .layer(axum::middleware::from_fn(console::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ))
        .layer(axum::Extension(metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
        }))
        // Bodies may arrive gzip-compressed (the JSON limit applies to what they inflate to);
        // other encodings reach the handler as they are and fail there as malformed.
        .layer(RequestDecompressionLayer::new().pass_through_unaccepted(true))
        .layer(axum::middleware::from_fn(refuse_unsupported_encodings))
        // JSON and text answers are compressed by negotiation; images never are.
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Request bodies may be gzip-compressed, once; any other `Content-Encoding` is refused
/// rather than read as if it were plain. Photo bytes travel as they are: images are
/// compressed already, and a resumable upload's offsets count the bytes as sent, so a photo or
/// upload body with any encoding is refused before the decompression layer could inflate it.
async fn refuse_unsupported_encodings(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Some(encoding) = request.headers().get(header::CONTENT_ENCODING) else {
        return next.run(request).await;
    };
    let encoding = encoding.as_bytes().trim_ascii();
    if encoding.eq_ignore_ascii_case(b"identity") {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let photo = path.starts_with("/mobile/v1/uploads")
        || (path.starts_with("/mobile/v1/records/") && path.contains("/photos/"));
    if photo {
        return ApiError::UnsupportedType(
            "send photo bytes without Content-Encoding; they are compressed already".into(),
        )
        .into_response();
    }
    if !encoding.eq_ignore_ascii_case(b"gzip") {
        return ApiError::UnsupportedType(
            "a request body may only be sent with Content-Encoding: gzip".into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// Serves `app` on `listener` until `shutdown`, with the media worker in-process when asked.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: CancellationToken,
    with_worker: bool,
) -> anyhow::Result<()> {
    let worker = with_worker.then(|| tokio::spawn(Worker::new(app.clone()).run(shutdown.clone())));
    let sealer = tokio::spawn(audit::run_sealer(app.clone(), shutdown.clone()));
    tokio::spawn(housekeeping::run(app.clone(), shutdown.clone()));
    tokio::spawn(reminders::run(app.clone(), shutdown.clone()));
    tokio::spawn(exports::run(app.clone(), shutdown.clone()));
    let header_timeout = Duration::from_secs(app.settings.header_read_timeout_secs.max(1));
    let router = router(app, Metrics::new());
    let addr = listener.local_addr().context("reading the listen address")?;
    tracing::info!(%addr, with_worker, "listening");
    accept_loop(listener, router, header_timeout, &shutdown).await;
    shutdown.cancel();
    if let Some(worker) = worker {
        // Photos in progress keep their lease; waiting too long would only delay a restart.
        let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
    }
    // The sealer seals and checkpoints once more on its way out.
    let _ = tokio::time::timeout(Duration::from_secs(10), sealer).await;
    Ok(())
}

/// Accepts HTTP/1.1 connections until `shutdown`, then lets open requests finish (up to a
/// limit). Written on hyper directly because `axum::serve` cannot bound how long a client may
/// take to send its headers, which is what a slowloris attack exploits.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: &CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (stream, peer) = stream;
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                req
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at shutdown");
    }
}

/// Runs only the media worker (and the audit sealer) until `shutdown`.
pub async fn work(app: App, shutdown: CancellationToken) {
    let sealer = tokio::spawn(audit::run_sealer(app.clone(), shutdown.clone()));
    tokio::spawn(housekeeping::run(app.clone(), shutdown.clone()));
    tokio::spawn(exports::run(app.clone(), shutdown.clone()));
    Worker::new(app).run(shutdown).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), sealer).await;
}
