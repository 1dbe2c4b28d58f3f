//! Reads the allowlisted EXIF fields with kamadak-exif, tolerating malformed and partial
//! blocks: whatever can be read is used, and what is wrong becomes a reason.

use std::io::Cursor;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use exif::{Exif, Field, In, Tag, Value};
use fieldproof_core::domain::{ExifSummary, GpsFix, Reason};

/// What EXIF says about a photo, plus what was wrong with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifReading {
    /// Whether the file carried an EXIF block at all.
    pub present: bool,
    /// The allowlisted fields.
    pub summary: ExifSummary,
    /// Reported horizontal GPS error in metres (`GPSHPositioningError`).
    pub gps_error_m: Option<f64>,
    /// Problems found while reading (invalid time or GPS, a broken block).
    pub problems: Vec<Reason>,
}

impl ExifReading {
    /// The orientation to apply: the tag when it is 1–8, else 1.
    pub fn orientation(&self) -> u8 {
        match self.summary.orientation {
            Some(o @ 1..=8) => o as u8,
            _ => 1,
        }
    }
}

/// Longest text value kept from a tag.
const MAX_TEXT: usize = 128;

/// Reads EXIF from a whole image file; `zone` decides the capture time when the photo does not
/// carry its own UTC offset.
pub fn read(bytes: &[u8], zone: Tz) -> ExifReading {
    let mut reading = ExifReading::default();
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = match webp_exif_chunk(bytes) {
        Some(tiff) => reader.read_raw(tiff.to_vec()),
        None => reader.read_from_container(&mut Cursor::new(bytes)),
    };
    let exif = match parsed {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            if let Some(first) = errors.first() {
                reading.problems.push(Reason::ExifInvalid {
                    detail: truncate(&first.to_string()),
                });
            }
            exif
        }
        Err(exif::Error::NotFound(_)) => return reading,
        Err(e) => {
            reading.present = true;
            reading.problems.push(Reason::ExifInvalid {
                detail: truncate(&e.to_string()),
            });
            return reading;
        }
    };
    reading.present = true;
    reading.summary.make = text(&exif, Tag::Make);
    reading.summary.model = text(&exif, Tag::Model);
    reading.summary.software = text(&exif, Tag::Software);
    reading.summary.orientation = field(&exif, Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok());
    read_capture_time(&exif, zone, &mut reading);
    read_gps(&exif, &mut reading);
    reading
}

/// The TIFF data of a WebP `EXIF` chunk. Some encoders (iOS among them) prefix it with the
/// JPEG-style `Exif\0\0` header, which the EXIF reader does not expect there.
fn webp_exif_chunk(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let mut at = 12usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]) as usize;
        let start = at + 8;
        let end = start.checked_add(size)?.min(bytes.len());
        if &bytes[at..at + 4] == b"EXIF" {
            let data = &bytes[start..end];
            return Some(data.strip_prefix(b"Exif\0\0").unwrap_or(data));
        }
        at = end + (size & 1);
    }
    None
}

fn field(exif: &Exif, tag: Tag) -> Option<&Field> {
    exif.get_field(tag, In::PRIMARY)
}

/// At most [`MAX_TEXT`] characters, without control characters or bidirectional overrides: the
/// text is the photo's, and ends up in terminals, logs and the console.
fn truncate(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        })
        .take(MAX_TEXT)
        .collect()
}

fn ascii(exif: &Exif, tag: Tag) -> Option<&[u8]> {
    match &field(exif, tag)?.value {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

fn text(exif: &Exif, tag: Tag) -> Option<String> {
    let raw = ascii(exif, tag)?;
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| truncate(s))
}

fn read_capture_time(exif: &Exif, zone: Tz, reading: &mut ExifReading) {
    let Some(raw) = ascii(exif, Tag::DateTimeOriginal) else {
        reading.problems.push(Reason::NoCaptureTime);
        return;
    };
    if raw.iter().all(|b| matches!(b, b' ' | b':' | 0)) {
        // The "    :  :     :  :  " placeholder some cameras write when the clock was never set.
        reading.problems.push(Reason::NoCaptureTime);
        return;
    }
    let Some(local) = parse_exif_datetime(raw) else {
        reading.problems.push(Reason::TimeInvalid {
            value: truncate(&String::from_utf8_lossy(raw)),
        });
        return;
    };
    let subsec = ascii(exif, Tag::SubSecTimeOriginal)
        .and_then(parse_subsec_nanos)
        .unwrap_or(0);
    let local = local.with_nanosecond_checked(subsec);
    reading.summary.captured_at_local = Some(local.format("%Y-%m-%dT%H:%M:%S%.f").to_string());
    let raw_offset =
        ascii(exif, Tag::OffsetTimeOriginal).filter(|r| r.iter().any(|b| !matches!(b, b' ' | b':' | 0)));
    let offset = raw_offset.and_then(parse_offset);
    if let (Some(raw), None) = (raw_offset, offset) {
        let raw = String::from_utf8_lossy(raw);
        reading.problems.push(Reason::ExifInvalid {
            detail: truncate(&format!("OffsetTimeOriginal `{raw}` is not a UTC offset")),
        });
    }
    let (utc, offset, source) = match offset {
        Some(offset) => match offset.from_local_datetime(&local).single() {
            Some(t) => (t.with_timezone(&Utc), offset, "exif"),
            None => return,
        },
        None => match zone.from_local_datetime(&local).earliest() {
            Some(t) => {
                use chrono::Offset;
                (t.with_timezone(&Utc), t.offset().fix(), "site_timezone")
            }
            None => {
                reading.problems.push(Reason::TimeInvalid {
                    value: truncate(&String::from_utf8_lossy(raw)),
                });
                return;
            }
        },
    };
    reading.summary.captured_at = Some(utc);
    reading.summary.utc_offset = Some(offset.to_string());
    reading.summary.utc_offset_source = Some(source.to_owned());
}

trait WithNanos {
    fn with_nanosecond_checked(self, nanos: u32) -> Self;
}

impl WithNanos for NaiveDateTime {
    fn with_nanosecond_checked(self, nanos: u32) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(nanos).unwrap_or(self)
    }
}

/// `YYYY:MM:DD HH:MM:SS`, rejecting impossible dates such as `0000:00:00 00:00:00`.
fn parse_exif_datetime(raw: &[u8]) -> Option<NaiveDateTime> {
    let s = std::str::from_utf8(raw).ok()?.trim_end_matches('\0').trim();
    let dt = NaiveDateTime::parse_from_str(s, "%Y:%m:%d %H:%M:%S").ok()?;
    use chrono::Datelike;
    (1900..=2200).contains(&dt.year()).then_some(dt)
}

fn parse_subsec_nanos(raw: &[u8]) -> Option<u32> {
    let digits: String = std::str::from_utf8(raw)
        .ok()?
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .take(9)
        .collect();
    if digits.is_empty() {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    Some(value * 10u32.pow(9 - digits.len() as u32))
}

/// `+08:00` / `-03:30` → a fixed offset.
fn parse_offset(raw: &[u8]) -> Option<FixedOffset> {
    let s = std::str::from_utf8(raw).ok()?.trim_end_matches('\0').trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

fn rationals(exif: &Exif, tag: Tag) -> Option<Vec<f64>> {
    match &field(exif, tag)?.value {
        Value::Rational(v) if !v.is_empty() => Some(
            v.iter()
                .map(|r| if r.denom == 0 { f64::NAN } else { r.to_f64() })
                .collect(),
        ),
        _ => None,
    }
}

fn degrees(parts: &[f64]) -> f64 {
    let d = parts.first().copied().unwrap_or(f64::NAN);
    let m = parts.get(1).copied().unwrap_or(0.0);
    let s = parts.get(2).copied().unwrap_or(0.0);
    d + m / 60.0 + s / 3600.0
}

fn read_gps(exif: &Exif, reading: &mut ExifReading) {
    let (Some(lat), Some(lon)) = (
        rationals(exif, Tag::GPSLatitude),
        rationals(exif, Tag::GPSLongitude),
    ) else {
        if field(exif, Tag::GPSLatitude).is_some() || field(exif, Tag::GPSLongitude).is_some() {
            reading.problems.push(Reason::GpsInvalid {
                detail: "GPSLatitude or GPSLongitude is not three rationals".into(),
            });
        } else {
            reading.problems.push(Reason::NoGps);
        }
        return;
    };
    let lat_ref = ascii(exif, Tag::GPSLatitudeRef).and_then(|r| r.first().copied());
    let lon_ref = ascii(exif, Tag::GPSLongitudeRef).and_then(|r| r.first().copied());
    let (lat_sign, lon_sign) = match (lat_ref, lon_ref) {
        (Some(a @ (b'N' | b'S')), Some(b @ (b'E' | b'W'))) => (
            if a == b'S' { -1.0 } else { 1.0 },
            if b == b'W' { -1.0 } else { 1.0 },
        ),
        _ => {
            // Never assume north and east: a missing hemisphere can put a photo on the wrong continent.
            reading.problems.push(Reason::GpsInvalid {
                detail: "GPSLatitudeRef or GPSLongitudeRef is missing".into(),
            });
            return;
        }
    };
    let (lat, lon) = (lat_sign * degrees(&lat), lon_sign * degrees(&lon));
    if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || lon.abs() > 180.0 {
        reading.problems.push(Reason::GpsInvalid {
            detail: format!("position {lat:.6}, {lon:.6} is out of range"),
        });
        return;
    }
    if lat == 0.0 && lon == 0.0 {
        reading.problems.push(Reason::GpsInvalid {
            detail: "position 0, 0 is a receiver's no-fix placeholder".into(),
        });
        return;
    }
    let alt = rationals(exif, Tag::GPSAltitude)
        .and_then(|v| v.first().copied())
        .filter(|a| a.is_finite())
        .map(|a| {
            // Some phones store a negative altitude as a wrapped unsigned 32-bit numerator.
            let a = if a > f64::from(i32::MAX) {
                a - 4_294_967_296.0
            } else {
                a
            };
            let below = field(exif, Tag::GPSAltitudeRef).and_then(|f| f.value.get_uint(0)) == Some(1);
            if below { -a } else { a }
        });
    reading.summary.gps = Some(GpsFix { lat, lon, alt });
    reading.gps_error_m = rationals(exif, Tag::GPSHPositioningError)
        .and_then(|v| v.first().copied())
        .filter(|e| e.is_finite() && *e >= 0.0);
    reading.summary.gps_time = gps_time(exif);
    let stamped = field(exif, Tag::GPSDateStamp).is_some() && field(exif, Tag::GPSTimeStamp).is_some();
    if stamped && reading.summary.gps_time.is_none() {
        reading.problems.push(Reason::ExifInvalid {
            detail: "GPSDateStamp or GPSTimeStamp cannot be read, so the GPS clock cannot be checked".into(),
        });
    }
}

fn gps_time(exif: &Exif) -> Option<DateTime<Utc>> {
    let date = std::str::from_utf8(ascii(exif, Tag::GPSDateStamp)?)
        .ok()?
        .trim_end_matches('\0')
        .trim()
        .to_owned();
    let date = NaiveDate::parse_from_str(&date, "%Y:%m:%d").ok()?;
    let t = rationals(exif, Tag::GPSTimeStamp)?;
    let (h, m, s) = (*t.first()?, *t.get(1)?, *t.get(2)?);
    if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&m) || !(0.0..61.0).contains(&s) {
        return None;
    }
    let whole = s.trunc();
    let nanos = ((s - whole) * 1e9).round() as u32;
    let time =
        NaiveTime::from_hms_nano_opt(h as u32, m as u32, (whole as u32).min(59), nanos.min(999_999_999))?;
    Some(Utc.from_utc_datetime(&date.and_time(time)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_dates_are_invalid_not_year_zero() {
        assert!(parse_exif_datetime(b"0000:00:00 00:00:00").is_none());
        assert!(parse_exif_datetime(b"2024:02:30 10:00:00").is_none());
        assert!(parse_exif_datetime(b"2024:05:07 09:33:04").is_some());
    }

    #[test]
    fn offsets_and_subseconds_parse() {
        assert_eq!(parse_offset(b"+08:00"), FixedOffset::east_opt(8 * 3600));
        assert_eq!(parse_offset(b"-03:30"), FixedOffset::east_opt(-(3 * 3600 + 1800)));
        assert_eq!(parse_offset(b"08:00"), None);
        assert_eq!(parse_subsec_nanos(b"935476"), Some(935_476_000));
        assert_eq!(parse_subsec_nanos(b"046"), Some(46_000_000));
    }

    /// A bare TIFF holding `fields` plus valid hemisphere refs.
    fn tiff(fields: &[Field]) -> Vec<u8> {
        let ascii = |tag, s: &str| Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![s.as_bytes().to_vec()]),
        };
        let mut writer = exif::experimental::Writer::new();
        let refs = [ascii(Tag::GPSLatitudeRef, "N"), ascii(Tag::GPSLongitudeRef, "E")];
        for f in refs.iter().chain(fields) {
            writer.push_field(f);
        }
        let mut out = Cursor::new(Vec::new());
        writer.write(&mut out, false).unwrap();
        out.into_inner()
    }

    fn rational(parts: &[(u32, u32)]) -> Value {
        Value::Rational(
            parts
                .iter()
                .map(|&(num, denom)| exif::Rational { num, denom })
                .collect(),
        )
    }

    fn gps(tag: Tag, value: Value) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        }
    }

    #[test]
    fn malformed_gps_tags_are_reported_not_ignored() {
        let wrong_type = tiff(&[
            gps(Tag::GPSLatitude, Value::Ascii(vec![b"39.6".to_vec()])),
            gps(Tag::GPSLongitude, rational(&[(118, 1), (0, 1), (0, 1)])),
        ]);
        let r = read(&wrong_type, chrono_tz::UTC);
        assert!(
            r.problems.iter().any(|p| matches!(p, Reason::GpsInvalid { .. })),
            "{:?}",
            r.problems
        );

        let bad_clock = tiff(&[
            gps(Tag::GPSLatitude, rational(&[(39, 1), (36, 1), (0, 1)])),
            gps(Tag::GPSLongitude, rational(&[(118, 1), (12, 1), (0, 1)])),
            gps(Tag::GPSDateStamp, Value::Ascii(vec![b"2026:05:01".to_vec()])),
            gps(Tag::GPSTimeStamp, rational(&[(99, 1), (99, 1), (99, 0)])),
        ]);
        let r = read(&bad_clock, chrono_tz::UTC);
        assert!(r.summary.gps.is_some());
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Reason::ExifInvalid { detail } if detail.contains("GPS clock"))),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn control_and_bidi_characters_are_dropped_from_text() {
        assert_eq!(
            truncate("Adobe Photoshop\x1b[31m\u{202e}gpj"),
            "Adobe Photoshop[31mgpj"
        );
    }

    #[test]
    fn a_file_without_exif_reads_as_absent() {
        let r = read(b"\xFF\xD8\xFF\xD9", chrono_tz::Asia::Shanghai);
        assert!(!r.present);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_tiff(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
            let len = u16::try_from(bytes.len() + 8).unwrap_or(u16::MAX);
            jpeg.extend_from_slice(&len.to_be_bytes());
            jpeg.extend_from_slice(b"Exif\0\0");
            jpeg.extend_from_slice(&bytes);
            let _ = read(&jpeg, chrono_tz::Asia::Shanghai);
        }
    }
}
