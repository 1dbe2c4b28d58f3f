//! Evidence review: each photo as a card with its verdict and reasons in words, galleries per
//! record, the before/after view per phase, the photo page, and the thumbnails and originals
//! behind them (originals through the same audited path as the API).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono_tz::Tz;
use fieldproof_core::App;
use fieldproof_core::domain::{Record, RecordKind, Site};
use fieldproof_core::geodesy::GeoPoint;
use fieldproof_core::ids::PhotoId;
use fieldproof_core::service::photos::{self, Variant};
use fieldproof_core::service::sites;
use fieldproof_core::store::PhotoRow;
use fieldproof_core::web::{Path, Query};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format::{in_zone, visible_name};
use super::i18n::Lang;
use super::plot::{Plot, PlotPoint};
use super::session::ConsoleUser;
use super::words::{ReasonWords, reason_words};
use super::{Chrome, render};

/// Evidence routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/photos/{id}", get(photo_page))
        .route("/photos/{id}/thumb/{size}", get(thumbnail))
        .route("/photos/{id}/original", get(original))
}

/// One photo as a reviewer sees it in a gallery.
#[derive(Clone)]
pub struct PhotoCard {
    /// Its id.
    pub id: String,
    /// Its number on the task page, which the location plot uses as its label.
    pub number: usize,
    /// The small thumbnail's URL (versioned, so it is cached for good), when made.
    pub thumb: Option<String>,
    /// `verified`, `suspicious`, `unverifiable`, or the pipeline state while there is no verdict.
    pub verdict: &'static str,
    /// The reasons in words.
    pub reasons: Vec<ReasonWords>,
    /// The capture time in the site's zone.
    pub taken: String,
    /// The distance from the site, when the photo has GPS.
    pub distance: String,
    /// What went wrong, when processing failed.
    pub error: Option<String>,
    /// The file name the phone gave, with direction overrides made visible.
    pub file_name: String,
}

/// The distance from the site to a photo's GPS position, in metres.
fn distance_m(site: &Site, photo: &PhotoRow) -> Option<f64> {
    let gps = photo.exif.as_ref()?.gps.as_ref()?;
    let point = GeoPoint::new(gps.lat, gps.lon).ok()?;
    Some(site.location.distance_m(point))
}

/// The thumbnail URL of `photo` at `size`, versioned by when it was processed.
fn thumb_url(photo: &PhotoRow, size: &str) -> Option<String> {
    let version = photo.processed_at?.timestamp_millis();
    let key = match size {
        "small" => photo.thumb_small_key.as_ref(),
        _ => photo.thumb_large_key.as_ref(),
    };
    key.map(|_| format!("/photos/{}/thumb/{size}?v={version}", photo.id))
}

/// The card of `photo`, number `number` on its page.
pub fn card(photo: &PhotoRow, number: usize, site: &Site, lang: Lang) -> PhotoCard {
    let tz = site.timezone;
    let (verdict, reasons) = match &photo.verification {
        Some(v) => (
            v.verdict.as_str(),
            v.reasons.iter().map(|r| reason_words(r, lang, tz)).collect(),
        ),
        None => (photo.status.as_str(), Vec::new()),
    };
    PhotoCard {
        id: photo.id.to_string(),
        number,
        thumb: thumb_url(photo, "small"),
        verdict,
        reasons,
        taken: photo
            .exif
            .as_ref()
            .and_then(|e| e.captured_at)
            .map(|t| in_zone(t, tz))
            .unwrap_or_default(),
        distance: distance_m(site, photo)
            .map(|m| format!("{m:.0} m"))
            .unwrap_or_default(),
        error: photo
            .last_error
            .clone()
            .filter(|_| photo.status.as_str() == "failed"),
        file_name: photo.file_name.as_deref().map(visible_name).unwrap_or_default(),
    }
}

/// Where a photo (or, without GPS, its phone) was, for the plot.
pub fn plot_point(photo: &PhotoRow, record: &Record, number: usize) -> Option<PlotPoint> {
    let class = photo
        .verification
        .as_ref()
        .map_or("pending", |v| v.verdict.as_str());
    if let Some(gps) = photo.exif.as_ref().and_then(|e| e.gps.as_ref()) {
        return Some(PlotPoint::new(gps.lat, gps.lon, class, number, false));
    }
    record
        .device_location
        .as_ref()
        .map(|fix| PlotPoint::new(fix.point.lat(), fix.point.lon(), class, number, true))
}

/// A record's box on the task page: its words, its review and its gallery.
pub struct RecordBox {
    /// Its id.
    pub id: String,
    /// `inspection` or `report`.
    pub kind: &'static str,
    /// The phase it reports on, by title.
    pub phase: String,
    /// Its note (escaped by the template like every other text).
    pub note: String,
    /// Who filed it.
    pub by: String,
    /// When the server received it.
    pub received: String,
    /// The review status of a report.
    pub review: Option<&'static str>,
    /// The reviewer's comment.
    pub review_comment: String,
    /// Whether a supervisor may accept or return it now.
    pub reviewable: bool,
    /// Its photos.
    pub photos: Vec<PhotoCard>,
}

/// A phase's before/after pair: the inspection photos beside the rectification photos.
pub struct BeforeAfter {
    /// The phase's title.
    pub phase: String,
    /// Inspection photos of the task (or of this phase, when the inspection named it).
    pub before: Vec<PhotoCard>,
    /// Photos of the phase's reports.
    pub after: Vec<PhotoCard>,
}

/// Whether a record is a phase report.
pub fn is_report(record: &Record) -> bool {
    record.kind == RecordKind::Rectification
}

#[derive(Template)]
#[template(path = "photo.html")]
struct PhotoPage {
    c: Chrome,
    card: PhotoCard,
    task_id: String,
    record_kind: &'static str,
    large: Option<String>,
    exif: Vec<(&'static str, String)>,
    plot: Plot,
    content_type: String,
    size_kb: i64,
    sha256: String,
}

async fn photo_page(
    State(app): State<App>,
    user: ConsoleUser,
    Path(id): Path<PhotoId>,
) -> Result<Html<String>, ConsoleError> {
    let (photo, record) = photos::find_photo(&app, &user.caller, id).await?;
    let task = fieldproof_core::service::visible_task(&app, &user.caller.user, record.task_id).await?;
    let site = sites::find_site(&app, &user.caller, task.site_id).await?;
    let tz: Tz = site.timezone;
    let mut exif = Vec::new();
    if let Some(e) = &photo.exif {
        let mut add = |key: &'static str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                exif.push((key, v));
            }
        };
        add("exif_captured", e.captured_at.map(|t| in_zone(t, tz)));
        add("exif_local", e.captured_at_local.clone());
        add("exif_offset", e.utc_offset.clone());
        add(
            "exif_gps",
            e.gps.as_ref().map(|g| format!("{:.6}, {:.6}", g.lat, g.lon)),
        );
        add("exif_gps_time", e.gps_time.map(|t| in_zone(t, tz)));
        add(
            "exif_camera",
            Some(
                format!(
                    "{} {}",
                    e.make.clone().unwrap_or_default(),
                    e.model.clone().unwrap_or_default()
                )
                .trim()
                .to_owned(),
            ),
        );
        add("exif_software", e.software.clone());
    }
    let points = plot_point(&photo, &record, 1).into_iter().collect();
    let page = PhotoPage {
        c: Chrome::new(&user, &format!("/photos/{id}")),
        card: card(&photo, 1, &site, user.lang),
        task_id: record.task_id.to_string(),
        record_kind: if is_report(&record) {
            "report"
        } else {
            "inspection"
        },
        large: thumb_url(&photo, "large"),
        exif,
        plot: Plot::new(&site, points),
        content_type: photo.content_type.clone(),
        size_kb: (photo.size_bytes + 1023) / 1024,
        sha256: photo.sha256.clone(),
    };
    render(&page)
}

/// `?v=` of a thumbnail URL: when it names the current processing, the image never changes.
#[derive(Debug, Deserialize)]
struct ThumbVersion {
    v: Option<i64>,
}

async fn thumbnail(
    State(app): State<App>,
    user: ConsoleUser,
    Path((id, size)): Path<(PhotoId, String)>,
    Query(q): Query<ThumbVersion>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let variant = match size.as_str() {
        "small" => Variant::Small,
        "large" => Variant::Large,
        _ => return Err(fieldproof_core::ApiError::NotFound("thumbnail size").into()),
    };
    let served = crate::routes::photos::serve_photo(&app, &user.caller, id, variant, &headers).await?;
    Ok(immutable_when_current(served, q.v))
}

/// A versioned thumbnail whose version is current is cached by the browser for a year, so a
/// second visit loads no image twice; any other answer keeps its revalidation.
fn immutable_when_current(served: crate::routes::photos::Served, asked: Option<i64>) -> Response {
    let current = served.version;
    let mut response = served.response;
    if asked.is_some() && asked == current && response.status().is_success() {
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("private, max-age=31536000, immutable"),
        );
    }
    response
}

async fn original(
    State(app): State<App>,
    user: ConsoleUser,
    Path(id): Path<PhotoId>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let served =
        crate::routes::photos::serve_photo(&app, &user.caller, id, Variant::Original, &headers).await?;
    Ok(served.response.into_response())
}
