//! Photos for tests: generated JPEGs with chosen EXIF (so the suite runs without `../shared`),
//! and the real phone photos of `../shared/fixtures/photos` with their manifest.

use std::collections::HashMap;
use std::path::PathBuf;

pub use fieldproof_media_worker::synth::SynthExif as Exif;

/// A generated JPEG (see `fieldproof_media_worker::synth`).
pub fn jpeg(width: u32, height: u32, exif: &Exif) -> Vec<u8> {
    fieldproof_media_worker::synth::jpeg(width, height, exif).expect("generating a JPEG")
}

/// A generated JPEG of its own scene, so that photos of one task are not `similar_photo`.
pub fn scene_jpeg(width: u32, height: u32, scene: u32, exif: &Exif) -> Vec<u8> {
    fieldproof_media_worker::synth::scene_jpeg(width, height, scene, exif).expect("generating a JPEG")
}

/// A valid JPEG of about `size` bytes (see `fieldproof_media_worker::synth::padded_jpeg`).
pub fn padded_jpeg(size: usize, exif: &Exif) -> Vec<u8> {
    fieldproof_media_worker::synth::padded_jpeg(size, exif).expect("generating a JPEG")
}

/// `../shared/fixtures/photos` beside the repository, when it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos");
    dir.join("MANIFEST.tsv").exists().then_some(dir)
}

/// One row of `MANIFEST.tsv`, by column name.
pub type ManifestRow = HashMap<String, String>;

/// The manifest of the shared photos, by file name.
pub fn manifest() -> Option<HashMap<String, ManifestRow>> {
    let dir = shared_dir()?;
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split('\t').collect();
    Some(
        lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let row: ManifestRow = header
                    .iter()
                    .zip(l.split('\t'))
                    .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                    .collect();
                (row["file"].clone(), row)
            })
            .collect(),
    )
}

/// The bytes of a shared photo.
pub fn shared(name: &str) -> Option<Vec<u8>> {
    std::fs::read(shared_dir()?.join(name)).ok()
}
