//! A 64-bit perceptual hash (dHash: the sign of the brightness gradient on a 9×8 grid), so
//! a photo re-saved, resized, recompressed or lightly retouched still matches the original
//! within a few bits while different scenes differ in about half of them. Written by hand:
//! it is a dozen lines over the `image` crate, and the hashing crates pull in far more.

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};

/// The hash of upright pixels; the smallest thumbnail is plenty.
pub fn dhash(image: &RgbImage) -> u64 {
    let gray: GrayImage = imageops::grayscale(image);
    let grid = imageops::resize(&gray, 9, 8, FilterType::Triangle);
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = grid.get_pixel(x, y).0[0];
            let right = grid.get_pixel(x + 1, y).0[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    hash
}

/// Bits in which two hashes differ.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn scene(seed: u32) -> RgbImage {
        RgbImage::from_fn(320, 240, |x, y| {
            let v = ((x * 7 + y * 3 + seed * 101) % 251) as u8;
            let w = (((x / 40 + y / 30 + seed) % 5) * 50) as u8;
            Rgb([v / 2 + w / 2, w, 255 - v])
        })
    }

    #[test]
    fn a_resized_copy_stays_close_and_another_scene_does_not() {
        let original = scene(1);
        let resized = imageops::resize(&original, 160, 120, FilterType::CatmullRom);
        assert!(distance(dhash(&original), dhash(&resized)) <= 4);
        assert!(distance(dhash(&original), dhash(&scene(2))) > 12);
    }
}
