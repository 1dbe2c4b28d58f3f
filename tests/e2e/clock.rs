//! A phone whose clock runs wrong: `Device-Time` records the offset, and its photos are judged
//! with the corrected capture time, saying so, instead of being called suspicious.

use chrono::{Duration, Utc};

use crate::flow::{record, site, task};
use crate::support::photos::{self, Exif};
use crate::support::server::{Client, Env, TestServer};

/// A photo taken now at the Tangshan site, by a camera whose clock runs `ahead`.
fn photo_from_a_clock(ahead: Duration, scene: u32) -> Vec<u8> {
    let stamp = (Utc::now() + ahead)
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y:%m:%d %H:%M:%S")
        .to_string();
    let exif = Exif {
        datetime_original: Some(stamp),
        gps: Some((39.6306, 118.1804)),
        ..Exif::default()
    };
    photos::scene_jpeg(640, 480, scene, &exif)
}

async fn put_photo(c: &Client, record_id: &str, bytes: Vec<u8>, device_time: Option<String>) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let mut req = c
        .request(
            reqwest::Method::PUT,
            &format!("/mobile/v1/records/{record_id}/photos/{id}"),
        )
        .header("content-type", "image/jpeg")
        .body(bytes);
    if let Some(t) = device_time {
        req = req.header("device-time", t);
    }
    let r = c.send(req).await;
    assert_eq!(r.status, 201, "{}", r.text());
    id
}

fn codes(photo: &serde_json::Value) -> Vec<String> {
    photo["verification"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_phone_two_hours_fast_is_corrected_not_accused() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6305, 118.1804, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let fast = Duration::hours(2);

    // Without the phone's clock, a capture time two hours ahead is in the future: suspicious.
    let unexplained = put_photo(&staff, &record_id, photo_from_a_clock(fast, 1), None).await;
    server.drain().await;
    let photo = staff.get(&format!("/api/v1/photos/{unexplained}")).await.json();
    assert_eq!(photo["verification"]["verdict"], "suspicious");
    assert_eq!(codes(&photo), ["time_in_future"]);

    // The phone says what its clock reads: the offset is recorded and the photo is judged at
    // the corrected time, with the correction in its reasons.
    let device_time = (Utc::now() + fast).to_rfc3339();
    let explained = put_photo(&staff, &record_id, photo_from_a_clock(fast, 2), Some(device_time)).await;
    server.drain().await;
    let photo = staff.get(&format!("/api/v1/photos/{explained}")).await.json();
    assert_eq!(photo["verification"]["verdict"], "unverifiable", "{photo}");
    assert_eq!(codes(&photo), ["device_clock_corrected"]);
    let reason = &photo["verification"]["reasons"][0];
    let offset = reason["offset_s"].as_i64().unwrap();
    assert!((7190..=7200).contains(&offset), "{offset}");

    // A clock more than a day off is not believed, and the last offset is forgotten: the
    // next photo is judged by its own clock again.
    let absurd = staff
        .send(
            staff
                .request(reqwest::Method::GET, &format!("/mobile/v1/records/{record_id}"))
                .header("device-time", "9999-12-31T23:59:59Z"),
        )
        .await;
    assert_eq!(absurd.status, 200);
    let after = put_photo(&staff, &record_id, photo_from_a_clock(fast, 3), None).await;
    server.drain().await;
    let photo = staff.get(&format!("/api/v1/photos/{after}")).await.json();
    assert_eq!(codes(&photo), ["time_in_future"]);

    // A Device-Time that is not a time is refused.
    let r = staff
        .send(
            staff
                .request(reqwest::Method::GET, &format!("/mobile/v1/records/{record_id}"))
                .header("device-time", "yesterday"),
        )
        .await;
    r.assert_problem(400, "malformed_request");
}
