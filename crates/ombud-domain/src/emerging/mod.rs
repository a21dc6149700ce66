//! Emerging issues: the algorithms that notice when something new is
//! happening before anyone has filed it as one problem. `spikes` flags a
//! segment whose intake this hour or day is far above its own seasonal
//! baseline, and `segments` cuts intake into those segments (type × surface
//! × country × policy) and checks a closed bucket; `similarity` groups escalations
//! that are near-duplicates of each other or share a subject. All take
//! plain data and return plain data: reading the counts and texts, and storing or
//! showing what is found, belong to the store and the server.
//!
//! `synthetic` builds a planted corpus, so the clustering can be measured (in
//! tests and by a benchmark command) against a known truth.

pub mod segments;
pub mod similarity;
pub mod spikes;
pub mod synthetic;

#[cfg(test)]
mod tests;

/// The SplitMix64 finaliser (Steele, Lea and Flood 2014): a bijection on
/// `u64` whose every output bit depends on every input bit. It turns weak
/// hashes (FNV-1a of a few characters) into well-spread ones, and makes
/// seeded streams that are the same on every run and platform.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A SplitMix64 generator: small, fast and deterministic, enough for hash
/// seeds and for generating test corpora (not for anything secret).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// A number in `0..bound` (`bound > 0`), by Lemire's multiply-shift; the
    /// bias is below 2⁻³² for the small bounds used here.
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// True with probability `numerator / denominator`.
    fn chance(&mut self, numerator: usize, denominator: usize) -> bool {
        self.below(denominator) < numerator
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
