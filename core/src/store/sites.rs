//! Sites.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::rows::SiteRow;
use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool, placeholders};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{NewSite, Site};
use crate::geodesy::GeoPoint;
use crate::ids::SiteId;

const SITE_COLUMNS: &str =
    "id, name, address, input_lat, input_lon, datum, lat, lon, radius_m, timezone, created_at";

impl Store {
    /// Stores a validated site with its WGS-84 location.
    pub async fn create_site(
        &self,
        new: &NewSite,
        location: GeoPoint,
        timezone: Tz,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<Site> {
        let created_by = actor
            .user_id
            .ok_or_else(|| StoreError::Corrupt("a site needs a creator".into()))?;
        let site = Site {
            id: SiteId::new(),
            name: new.name.clone(),
            address: new.address.clone(),
            input_lat: new.lat,
            input_lon: new.lon,
            datum: new.datum,
            location,
            radius_m: new.radius_m,
            timezone,
            created_at: now,
        };
        let event = AuditEvent::new(
            now,
            actor,
            "site.created",
            "site",
            site.id.0,
            &serde_json::json!({ "name": site.name, "datum": site.datum.as_str(), "radius_m": site.radius_m }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO sites (id, name, address, input_lat, input_lon, datum, lat, lon, radius_m, \
                 timezone, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(site.id)
            .bind(&site.name)
            .bind(&site.address)
            .bind(site.input_lat)
            .bind(site.input_lon)
            .bind(site.datum.as_str())
            .bind(site.location.lat())
            .bind(site.location.lon())
            .bind(site.radius_m)
            .bind(site.timezone.name())
            .bind(created_by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(site)
    }

    /// The sites of `ids` that exist, in no particular order.
    pub async fn find_sites(&self, ids: &[SiteId]) -> StoreResult<Vec<Site>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {SITE_COLUMNS} FROM sites WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let rows: Vec<SiteRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        rows.into_iter().map(SiteRow::into_site).collect()
    }

    /// One site.
    pub async fn find_site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1");
        let row: Option<SiteRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(SiteRow::into_site).transpose()
    }
}
