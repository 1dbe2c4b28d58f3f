//! Sites: factories with a location, a geofence radius and a time zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::validation::{ValidationError, check_len, check_text};
use crate::geodesy::{Datum, GeoPoint};
use crate::ids::SiteId;

/// Largest geofence radius accepted, in metres.
pub const MAX_RADIUS_M: f64 = 50_000.0;

/// A site as stored: the coordinates as entered and converted to WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// Name of the factory or place.
    pub name: String,
    /// Postal address, free text.
    pub address: Option<String>,
    /// Latitude as entered, in `datum`.
    pub input_lat: f64,
    /// Longitude as entered, in `datum`.
    pub input_lon: f64,
    /// The datum the coordinates were entered in.
    pub datum: Datum,
    /// The location in WGS-84, which all distances use.
    pub location: GeoPoint,
    /// Geofence radius in metres.
    pub radius_m: f64,
    /// Time zone that decides what a "day" is at this site.
    pub timezone: Tz,
    /// When the site was entered.
    pub created_at: DateTime<Utc>,
}

/// A validated request to create a site.
#[derive(Debug, Clone)]
pub struct NewSite {
    /// Name of the factory or place.
    pub name: String,
    /// Postal address.
    pub address: Option<String>,
    /// Latitude in `datum`.
    pub lat: f64,
    /// Longitude in `datum`.
    pub lon: f64,
    /// The datum of `lat`/`lon`.
    pub datum: Datum,
    /// Geofence radius in metres.
    pub radius_m: f64,
    /// IANA time zone name; the configured default when absent.
    pub timezone: Option<String>,
}

impl NewSite {
    /// Checks every field and converts the location to WGS-84.
    pub fn validate(&self, default_tz: Tz) -> Result<(GeoPoint, Tz), ValidationError> {
        let mut e = ValidationError::default();
        check_text(&mut e, "name", &self.name, 200);
        if let Some(address) = &self.address {
            check_len(&mut e, "address", address, 500);
        }
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            e.add("lat", "must be between -90 and 90");
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            e.add("lon", "must be between -180 and 180");
        }
        if !self.radius_m.is_finite() || self.radius_m <= 0.0 || self.radius_m > MAX_RADIUS_M {
            e.add(
                "radius_m",
                format!("must be greater than 0 and at most {MAX_RADIUS_M}"),
            );
        }
        let tz = match &self.timezone {
            None => Some(default_tz),
            Some(name) => name.parse::<Tz>().ok().or_else(|| {
                e.add("timezone", "must be an IANA time zone such as Asia/Shanghai");
                None
            }),
        };
        e.clone().into_result()?;
        let location = self
            .datum
            .to_wgs84(self.lat, self.lon)
            .map_err(|err| ValidationError::single("lat", err.to_string()))?;
        Ok((location, tz.unwrap_or(default_tz)))
    }
}
