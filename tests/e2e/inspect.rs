//! `fieldproof inspect-photo`, the real binary: the same EXIF summary and verification as the
//! worker gives the same photo through the API, thumbnails on disk, and clear failures.

use std::process::Command;

use chrono::{FixedOffset, Utc};
use serde_json::Value;

use crate::flow::{record, site, task, upload};
use crate::support::photos::{self, Exif};
use crate::support::server::{Env, TestServer};

fn inspect(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fieldproof"))
        .arg("inspect-photo")
        .args(args)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run fieldproof inspect-photo")
}

#[tokio::test]
async fn inspect_photo_concludes_what_the_worker_concludes() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let (lat, lon) = (39.6, 118.2);
    let site_id = site(&staff, lat, lon, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let device_time = Utc::now().to_rfc3339();
    let record_id = record(&staff, task["id"].as_str().unwrap(), &device_time).await;
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    // Two kilometres north of the site, edited, taken with the phone on its side.
    let exif = Exif {
        datetime_original: Some(
            Utc::now()
                .with_timezone(&china)
                .format("%Y:%m:%d %H:%M:%S")
                .to_string(),
        ),
        offset_time_original: Some("+08:00".into()),
        gps: Some((lat + 0.018, lon)),
        orientation: Some(6),
        software: Some("Snapseed 2.0".into()),
    };
    let bytes = photos::scene_jpeg(1200, 900, 5, &exif);
    let id = upload(&staff, &record_id, bytes.clone()).await;
    server.drain().await;
    let api = staff.get(&format!("/api/v1/photos/{id}")).await.json();
    assert_eq!(api["status"], "done", "{api}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.jpg");
    std::fs::write(&file, &bytes).unwrap();
    let thumbs = dir.path().join("thumbs");
    let out = inspect(&[
        file.to_str().unwrap(),
        "--site",
        &format!("{lat},{lon},wgs84,300"),
        "--at",
        &device_time,
        "--timezone",
        "Asia/Shanghai",
        "--json",
        "--thumbnails",
        thumbs.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "exif",
        "verification",
        "sha256",
        "width",
        "height",
        "content_type",
    ] {
        assert_eq!(cli[key], api[key], "{key}: cli {cli} api {api}");
    }
    let codes: Vec<&str> = cli["verification"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["outside_site", "edited_by_software"], "{cli}");
    assert_eq!(
        cli["judged"],
        serde_json::json!({ "location": true, "window": true, "reuse": false })
    );
    for (edge, size) in [(256, (192, 256)), (1280, (900, 1200))] {
        let t = std::fs::read(thumbs.join(format!("site-{edge}.jpg"))).unwrap();
        let img = image::load_from_memory(&t).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            size,
            "{edge} px is upright and never enlarged"
        );
    }

    // Without a site or a time, location and window are left out and said to be.
    let out = inspect(&[file.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("location (no --site)") && text.contains("time window (no --at)"),
        "{text}"
    );
    assert!(
        text.contains("edited_by_software software=Snapseed 2.0"),
        "{text}"
    );
    assert!(!text.contains("outside_site"), "{text}");
    server.stop().await;
}

#[test]
fn inspect_photo_fails_clearly_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = photos::jpeg(400, 300, &Exif::default());
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let pdf = dir.path().join("photo.jpg");
    std::fs::write(&pdf, b"%PDF-1.7 not a photo").unwrap();
    let whole = dir.path().join("whole.jpg");
    std::fs::write(&whole, &bytes).unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["/dev/zero"], "is not a regular file"),
        (&[cut.to_str().unwrap()], "truncated"),
        (&[pdf.to_str().unwrap()], "PDF"),
        (&["/nonexistent/photo.jpg"], "reading /nonexistent/photo.jpg"),
        (&[whole.to_str().unwrap(), "--site", "91,0"], "--site"),
        (&[whole.to_str().unwrap(), "--sizes", "0"], "--sizes"),
    ];
    for (args, words) in cases {
        let out = inspect(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "no backtrace: {stderr}");
    }
}
