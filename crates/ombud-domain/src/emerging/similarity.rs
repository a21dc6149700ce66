//! Near-duplicate clusters: groups of escalations that tell the same story in
//! slightly different words, or that are about the same subject. It works on
//! characters, not words, so Japanese, Chinese and Thai (written without
//! spaces) cluster as well as English.
//!
//! The pipeline, each step chosen to stay near-linear in the number of items:
//!
//! 1. `normalize`: lowercase, fold full-width ASCII, turn punctuation and
//!    symbols into single spaces, mask numbers.
//! 2. Character shingles: every run of `shingle` consecutive characters
//!    (3 by default), as a set.
//! 3. MinHash: `bands × rows` seeded hash functions, keeping each one's
//!    minimum over the shingles. Two signatures agree in one position with
//!    probability equal to the Jaccard similarity of the shingle sets, so the
//!    share of agreeing positions estimates it.
//! 4. LSH banding: signatures are cut into `bands` bands of `rows` values;
//!    items with an identical band land in the same bucket and become
//!    candidates. A pair of similarity `s` becomes a candidate with
//!    probability `1 − (1 − sʳ)ᵇ`, an S-curve that rises steepest near
//!    `(1/b)^(1/r)`; unrelated pairs are almost never compared.
//! 5. Verification: a candidate pair is linked when its estimated similarity
//!    reaches `threshold`.
//! 6. Subjects: items that share a subject key are linked whatever their
//!    text, unless the subject is so common that it says nothing
//!    (`subject_max_items`).
//! 7. Clusters are the connected components of the links (union-find) with at
//!    least `min_size` members.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{SplitMix64, mix64};
use crate::validation::{Collector, Invalid};

/// One escalation as the clustering sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The caller's identifier (e.g. the number of `ESC-n`); unique per call.
    pub id: u64,
    /// Title and description, in any language.
    pub text: String,
    /// Normalised subject keys (`Subject::normalized_key`), compared exactly.
    pub subjects: Vec<String>,
}

/// The knobs of the clustering; `Default` is what was measured (see the
/// module's tests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ClusterParams {
    /// Characters per shingle. 3 is long enough that random texts in the
    /// same script share few shingles, and short enough that one changed
    /// character disturbs only 3 of them; in Chinese and Japanese, where a
    /// character carries more meaning, 3 characters are already a phrase.
    pub shingle: usize,
    /// LSH bands. 32 bands of 4 rows (128 hash functions) make the S-curve
    /// rise steepest at (1/32)^(1/4) ≈ 0.42, under the threshold: a pair at
    /// similarity 0.55 (the threshold) is a candidate with probability 0.95,
    /// at 0.6 with 0.988, at 0.7 with 0.9995, while a pair at 0.2 is one
    /// with 0.05. More rows would miss near-duplicates, fewer would compare
    /// many unrelated pairs.
    pub bands: usize,
    /// Signature values per band.
    pub rows: usize,
    /// The estimated Jaccard similarity of shingle sets at which two texts
    /// are near-duplicates. Measured on the planted corpus (`synthetic`):
    /// copies with up to three changed characters mostly score 0.6 to 0.9
    /// (a few short Chinese ones down to 0.41, whose cluster still reaches
    /// them through other copies), while unrelated texts that share a
    /// vocabulary and boilerplate reach 0.48 among 2,300 items. At 0.5 such
    /// chance pairs chain unrelated items together as the corpus grows
    /// (pairwise precision 0.94 to 0.96 at 100,000 items, 0.71 at 200,000);
    /// 0.55 keeps precision at 0.998 up to 200,000 items (0.994 at 400,000)
    /// and recall at 0.99 or better. The estimate's standard error is
    /// about 0.044.
    pub threshold: f64,
    /// The fewest members a cluster reports; pairs are the smallest issue.
    pub min_size: usize,
    /// A subject key held by more items than this does not link them: a key
    /// that common (a platform's home page, a placeholder) says nothing about
    /// whether the reports describe one issue. It is still listed among a
    /// cluster's shared subjects.
    pub subject_max_items: usize,
    /// Seeds the hash functions. Signatures from different seeds do not
    /// compare; the default keeps stored signatures comparable across runs.
    pub seed: u64,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            shingle: 3,
            bands: 32,
            rows: 4,
            threshold: 0.55,
            min_size: 2,
            subject_max_items: 200,
            seed: 0x6f6d_6275_642d_6e64,
        }
    }
}

impl ClusterParams {
    /// Checks the parameters, naming every field out of bounds.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Collector::default();
        if !(1..=8).contains(&self.shingle) {
            errors.push("shingle", "use shingles of 1 to 8 characters");
        }
        if !(1..=256).contains(&self.bands) {
            errors.push("bands", "use between 1 and 256 bands");
        }
        if !(1..=16).contains(&self.rows) {
            errors.push("rows", "use between 1 and 16 rows per band");
        }
        if self.bands * self.rows > 1024 {
            errors.push(
                "rows",
                "bands × rows is the signature length; keep it at most 1024",
            );
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            errors.push("threshold", "use a similarity above 0 and at most 1");
        }
        if self.min_size < 2 {
            errors.push("min_size", "a cluster has at least 2 members");
        }
        if self.subject_max_items < 2 {
            errors.push(
                "subject_max_items",
                "use at least 2, or no subject would ever link two items",
            );
        }
        errors.finish()
    }

    /// The similarity near which the LSH S-curve is steepest, `(1/b)^(1/r)`:
    /// pairs well above it are almost always compared, pairs well below
    /// almost never.
    pub fn lsh_threshold(&self) -> f64 {
        (1.0 / self.bands as f64).powf(1.0 / self.rows as f64)
    }

    /// The probability that a pair of the given Jaccard similarity shares at
    /// least one band and so is compared at all: `1 − (1 − sʳ)ᵇ`.
    pub fn candidate_probability(&self, similarity: f64) -> f64 {
        1.0 - (1.0 - similarity.powi(self.rows as i32)).powi(self.bands as i32)
    }
}

/// Items found to be about one issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cluster {
    /// Ids in the order the items were given.
    pub members: Vec<u64>,
    /// The first member in the order given (the earliest, if the caller
    /// passes items by time): the report that started the issue.
    pub representative: u64,
    /// The mean estimated similarity of the other members' texts to the
    /// representative's; low when subjects rather than texts hold the
    /// cluster together, or when it is a chain of gradual edits.
    pub mean_similarity: f64,
    /// Subject keys held by at least two members, most widely held first.
    pub shared_subjects: Vec<String>,
}

/// Lowercases `text`, folds full-width ASCII (common in Japanese text) to
/// ASCII, replaces runs of whitespace, punctuation and symbols by one space,
/// and every run of digits (in any script) by a single `0`.
///
/// Masking numbers is deliberate: reports of one issue differ in account
/// numbers, amounts, dates and ticket ids, which say nothing about whether
/// they describe the same thing. Two texts differing only in numbers are
/// therefore identical here.
///
/// Std has no Unicode general category, so punctuation and symbols are
/// recognised by their blocks (`is_separator`); letters, combining marks
/// (Thai vowels and tones) and anything unknown are kept. No canonical
/// normalisation (NFC) is applied: a precomposed `é` and `e` + combining
/// accent differ, which costs a shingle or two, not a match.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    let mut number = false;
    for c in text.chars() {
        let c = fold_width(c);
        let class = classify(c);
        match class {
            Class::Ignorable => continue,
            Class::Separator => {
                space = !out.is_empty();
                number = false;
                continue;
            }
            _ => {}
        }
        if space {
            out.push(' ');
            space = false;
        }
        match class {
            Class::Digit if !number => out.push('0'),
            Class::Digit => {}
            Class::Caseless => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
        number = class == Class::Digit;
    }
    out
}

/// What `normalize` does with a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ignorable,
    Separator,
    Digit,
    /// A letter with neither case nor digit value, kept as it is.
    Caseless,
    Letter,
}

fn classify(c: char) -> Class {
    // Thai, kana, CJK ideographs and Hangul syllables, most of the text in
    // those languages, skip the Unicode table look-ups below: at tens of
    // nanoseconds a character they took a quarter of the clustering's time.
    if matches!(c,
        '\u{0e01}'..='\u{0e3a}'
        | '\u{0e40}'..='\u{0e4e}'
        | '\u{3041}'..='\u{30fa}'
        | '\u{30fc}'..='\u{30ff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{ac00}'..='\u{d7a3}')
    {
        Class::Caseless
    } else if is_ignorable(c) {
        Class::Ignorable
    } else if is_separator(c) {
        Class::Separator
    } else if c.is_numeric() {
        Class::Digit
    } else {
        Class::Letter
    }
}

/// Full-width ASCII (U+FF01–U+FF5E) to ASCII: `ＡＢＣ１２３` → `ABC123`.
fn fold_width(c: char) -> char {
    if ('\u{ff01}'..='\u{ff5e}').contains(&c) {
        char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c)
    } else {
        c
    }
}

/// Invisible format characters that join or mark text without separating
/// words: zero-width space, (non-)joiners, direction marks, word joiner, BOM
/// and variation selectors.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{fe00}'..='\u{fe0f}')
}

/// Whitespace, controls, and what is neither letter nor number in the blocks
/// that hold punctuation and symbols: ASCII, Latin-1, General Punctuation to
/// Miscellaneous Symbols and Arrows, Supplemental Punctuation, CJK Symbols and
/// Punctuation, the katakana middle dot, CJK compatibility and small forms,
/// half- and full-width forms, Thai punctuation, and emoji.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_alphanumeric();
    }
    let in_symbol_block = matches!(c,
        '\u{80}'..='\u{bf}'
        | '\u{d7}'
        | '\u{f7}'
        | '\u{e4f}'
        | '\u{e5a}'..='\u{e5b}'
        | '\u{2000}'..='\u{2bff}'
        | '\u{2e00}'..='\u{2e7f}'
        | '\u{3000}'..='\u{303f}'
        | '\u{30fb}'
        | '\u{fe10}'..='\u{fe1f}'
        | '\u{fe30}'..='\u{fe6f}'
        | '\u{ff00}'..='\u{ff65}'
        | '\u{1f000}'..='\u{1faff}');
    c.is_whitespace() || (in_symbol_block && !c.is_alphanumeric())
}

/// FNV-1a parameters (64 bit).
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Makes MinHash signatures; the same parameters give the same signatures on
/// every run and platform, so they can be stored and compared later.
#[derive(Debug, Clone)]
pub struct MinHasher {
    shingle: usize,
    seed: u64,
    /// Hash function `i` maps a shingle hash `x` to the high 32 bits of
    /// `a[i]·x + b[i]` mod 2⁶⁴ (multiply-add-shift, Dietzfelbinger 1996):
    /// one multiplication per function, on a shingle hash that SplitMix64
    /// has already spread. The product must wrap: with 32-bit factors the
    /// high bits would grow with `x` and every function order the shingles
    /// alike.
    a: Vec<u64>,
    b: Vec<u64>,
}

impl MinHasher {
    pub fn new(params: &ClusterParams) -> MinHasher {
        let mut rng = SplitMix64(params.seed);
        let length = params.bands * params.rows;
        let a = (0..length).map(|_| rng.next_u64() | 1).collect();
        let b = (0..length).map(|_| rng.next_u64()).collect();
        MinHasher {
            shingle: params.shingle.max(1),
            seed: params.seed,
            a,
            b,
        }
    }

    /// The signature of `text`: `bands × rows` values, or none when the text
    /// normalises to nothing.
    pub fn signature(&self, text: &str) -> Vec<u32> {
        let mut shingles = Vec::new();
        self.shingle_hashes(&normalize(text), &mut shingles);
        self.sign(&shingles)
    }

    /// The hashes of the distinct shingles of normalised `text`, in
    /// `shingles`. A text shorter than a shingle is one shingle.
    fn shingle_hashes(&self, text: &str, shingles: &mut Vec<u64>) {
        shingles.clear();
        let chars: Vec<char> = text.chars().collect();
        let width = self.shingle.min(chars.len());
        if width == 0 {
            return;
        }
        shingles.extend(chars.windows(width).map(|window| {
            let fnv = window.iter().fold(FNV_OFFSET, |h, &c| {
                (h ^ u64::from(u32::from(c))).wrapping_mul(FNV_PRIME)
            });
            mix64(fnv ^ self.seed)
        }));
        shingles.sort_unstable();
        shingles.dedup();
    }

    fn sign(&self, shingles: &[u64]) -> Vec<u32> {
        if shingles.is_empty() {
            return Vec::new();
        }
        let mut signature = vec![u32::MAX; self.a.len()];
        for &x in shingles {
            for ((value, &a), &b) in signature.iter_mut().zip(&self.a).zip(&self.b) {
                let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
                *value = (*value).min(h);
            }
        }
        signature
    }
}

/// The share of positions where two signatures agree: an estimate of the
/// Jaccard similarity of the two texts' shingle sets. 0 when either text was
/// empty or the signatures come from different parameters.
pub fn estimated_similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let agree = a.iter().zip(b).filter(|(x, y)| x == y).count();
    agree as f64 / a.len() as f64
}

/// Disjoint sets of item indexes, by size with path halving. Indexes are
/// `u32` to halve the memory of the LSH buckets; one call clusters far fewer
/// than four billion items.
#[derive(Debug)]
struct Forest {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Forest {
    fn new(n: usize) -> Forest {
        Forest {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    fn union(&mut self, x: u32, y: u32) {
        let (mut x, mut y) = (self.find(x), self.find(y));
        if x == y {
            return;
        }
        if self.size[x as usize] < self.size[y as usize] {
            std::mem::swap(&mut x, &mut y);
        }
        self.parent[y as usize] = x;
        self.size[x as usize] += self.size[y as usize];
    }
}

/// Within one LSH bucket, an item is compared with at most this many members
/// of each group of already linked items there. A near-duplicate of a large
/// group almost always resembles its first members, and the same items meet
/// again in other bands; the cap keeps a bucket of thousands of copies of one
/// message linear instead of quadratic.
const PROBES: usize = 8;

/// All signatures, `length` values per item, in one allocation.
#[derive(Debug)]
struct Signatures {
    values: Vec<u32>,
    length: usize,
}

impl Signatures {
    fn of(&self, item: u32) -> &[u32] {
        let start = item as usize * self.length;
        &self.values[start..start + self.length]
    }

    fn similarity(&self, x: u32, y: u32) -> f64 {
        estimated_similarity(self.of(x), self.of(y))
    }
}

/// The clusters among `items`, largest first (ties in the order of their
/// representatives). Items sharing a subject key (held by at most
/// `subject_max_items` items) are linked; so are items whose texts'
/// estimated similarity reaches `threshold` and that LSH makes candidates.
/// Takes time near-linear in the total text length.
pub fn clusters(items: &[Item], params: &ClusterParams) -> Vec<Cluster> {
    let hasher = MinHasher::new(params);
    let length = params.bands * params.rows;
    let mut signatures = Signatures {
        values: vec![0; items.len() * length],
        length,
    };
    let mut shingles = Vec::new();
    let mut has_text = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        hasher.shingle_hashes(&normalize(&item.text), &mut shingles);
        let signature = hasher.sign(&shingles);
        has_text.push(!signature.is_empty());
        if !signature.is_empty() {
            signatures.values[index * length..(index + 1) * length].copy_from_slice(&signature);
        }
    }
    let mut forest = Forest::new(items.len());
    link_subjects(items, params.subject_max_items, &mut forest);
    link_texts(&signatures, &has_text, params, &mut forest);
    gather(items, &signatures, &has_text, params.min_size, &mut forest)
}

fn link_subjects(items: &[Item], max_items: usize, forest: &mut Forest) {
    let mut holders: Vec<(&str, u32)> = items
        .iter()
        .enumerate()
        .flat_map(|(index, item)| {
            item.subjects
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(move |s| (s, index as u32))
        })
        .collect();
    holders.sort_unstable();
    holders.dedup();
    for group in holders.chunk_by(|x, y| x.0 == y.0) {
        if (2..=max_items).contains(&group.len()) {
            for &(_, index) in &group[1..] {
                forest.union(group[0].1, index);
            }
        }
    }
}

fn link_texts(
    signatures: &Signatures,
    has_text: &[bool],
    params: &ClusterParams,
    forest: &mut Forest,
) {
    let mut buckets: Vec<(u64, u32)> = Vec::with_capacity(has_text.len());
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for band in 0..params.bands {
        let rows = band * params.rows..(band + 1) * params.rows;
        buckets.clear();
        buckets.extend(
            (0..has_text.len() as u32)
                .filter(|&item| has_text[item as usize])
                .map(|item| {
                    let key = signatures.of(item)[rows.clone()]
                        .iter()
                        .fold(mix64(params.seed ^ band as u64), |h, &v| {
                            mix64(h ^ u64::from(v))
                        });
                    (key, item)
                }),
        );
        buckets.sort_unstable();
        for bucket in buckets.chunk_by(|x, y| x.0 == y.0) {
            if bucket.len() > 1 {
                link_bucket(bucket, signatures, params.threshold, forest, &mut groups);
            }
        }
    }
}

/// Links the members of one bucket that are similar enough. Members are
/// kept in `groups` of items already linked (by this bucket, an earlier
/// band or a subject); a new member joins every group one of whose first
/// `PROBES` members it resembles, merging those groups. Pairs already in one
/// cluster are never compared: a further link between them changes nothing.
fn link_bucket(
    bucket: &[(u64, u32)],
    signatures: &Signatures,
    threshold: f64,
    forest: &mut Forest,
    groups: &mut Vec<Vec<u32>>,
) {
    groups.clear();
    for &(_, x) in bucket {
        let mut home: Option<usize> = None;
        for g in 0..groups.len() {
            let Some(&first) = groups[g].first() else {
                continue;
            };
            let joined = forest.find(first) == forest.find(x)
                || groups[g]
                    .iter()
                    .take(PROBES)
                    .any(|&y| signatures.similarity(x, y) >= threshold);
            if !joined {
                continue;
            }
            forest.union(first, x);
            match home {
                None => home = Some(g),
                Some(h) => {
                    let moved = std::mem::take(&mut groups[g]);
                    groups[h].extend(moved);
                }
            }
        }
        match home {
            Some(h) => groups[h].push(x),
            None => groups.push(vec![x]),
        }
    }
}

/// Turns the forest's sets of at least `min_size` items into clusters.
fn gather(
    items: &[Item],
    signatures: &Signatures,
    has_text: &[bool],
    min_size: usize,
    forest: &mut Forest,
) -> Vec<Cluster> {
    let mut sets: Vec<Vec<u32>> = Vec::new();
    let mut set_of_root: HashMap<u32, usize> = HashMap::new();
    for index in 0..items.len() as u32 {
        let root = forest.find(index);
        if forest.size[root as usize] as usize >= min_size {
            let set = *set_of_root.entry(root).or_insert_with(|| {
                sets.push(Vec::new());
                sets.len() - 1
            });
            sets[set].push(index);
        }
    }
    sets.sort_by(|x, y| y.len().cmp(&x.len()).then(x[0].cmp(&y[0])));
    sets.into_iter()
        .map(|set| {
            let first = set[0];
            let similarities: f64 = set[1..]
                .iter()
                .map(|&other| {
                    if has_text[first as usize] && has_text[other as usize] {
                        signatures.similarity(first, other)
                    } else {
                        0.0
                    }
                })
                .sum();
            Cluster {
                members: set.iter().map(|&i| items[i as usize].id).collect(),
                representative: items[first as usize].id,
                mean_similarity: similarities / (set.len() - 1) as f64,
                shared_subjects: shared_subjects(items, &set),
            }
        })
        .collect()
}

/// The subject keys held by at least two of the `set`'s items, most widely
/// held first, then alphabetically.
fn shared_subjects(items: &[Item], set: &[u32]) -> Vec<String> {
    let mut keys: Vec<(&str, u32)> = set
        .iter()
        .flat_map(|&index| {
            items[index as usize]
                .subjects
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(move |s| (s, index))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut shared: Vec<(usize, &str)> = keys
        .chunk_by(|x, y| x.0 == y.0)
        .filter(|holders| holders.len() >= 2)
        .map(|holders| (holders.len(), holders[0].0))
        .collect();
    shared.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(y.1)));
    shared.into_iter().map(|(_, key)| key.to_string()).collect()
}

/// How well found clusters match planted ones, counted over pairs of items:
/// a pair is planted when both items are in one planted cluster and found
/// when both are in one found cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Correct pairs / found pairs; 1 when nothing was found.
    pub precision: f64,
    /// Correct pairs / planted pairs; 1 when nothing was planted.
    pub recall: f64,
    pub found_pairs: u64,
    pub planted_pairs: u64,
    pub correct_pairs: u64,
}

/// Pairwise precision and recall of `found` against `planted` (each a list
/// of item ids; items in none are singletons). Ids are taken to be unique and
/// each list of clusters disjoint. Pairs rather than whole clusters are
/// counted so that one stray item costs in proportion to the pairs it spoils.
pub fn evaluate(found: &[Cluster], planted: &[Vec<u64>]) -> Evaluation {
    let pairs = |n: usize| (n as u64) * (n as u64).saturating_sub(1) / 2;
    let label: HashMap<u64, usize> = planted
        .iter()
        .enumerate()
        .flat_map(|(cluster, ids)| ids.iter().map(move |&id| (id, cluster)))
        .collect();
    let planted_pairs = planted.iter().map(|ids| pairs(ids.len())).sum();
    let mut found_pairs = 0;
    let mut correct_pairs = 0;
    for cluster in found {
        found_pairs += pairs(cluster.members.len());
        let mut per_label: HashMap<usize, usize> = HashMap::new();
        for id in &cluster.members {
            if let Some(&l) = label.get(id) {
                *per_label.entry(l).or_default() += 1;
            }
        }
        correct_pairs += per_label.values().map(|&n| pairs(n)).sum::<u64>();
    }
    let ratio = |part: u64, whole: u64| {
        if whole == 0 {
            1.0
        } else {
            part as f64 / whole as f64
        }
    };
    Evaluation {
        precision: ratio(correct_pairs, found_pairs),
        recall: ratio(correct_pairs, planted_pairs),
        found_pairs,
        planted_pairs,
        correct_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: u64, text: &str, subjects: &[&str]) -> Item {
        Item {
            id,
            text: text.to_string(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn normalising_folds_case_width_punctuation_and_numbers() {
        assert_eq!(
            normalize("  Account #48213 — SCAM!!  ＡＢＣ１２３ "),
            "account 0 scam abc0"
        );
        assert_eq!(
            normalize("詐欺アカウント、至急。ID：１２３４"),
            "詐欺アカウント 至急 id 0"
        );
        assert_eq!(normalize("บัญชีปลอม ๑๒๓ ฯลฯ"), "บัญชีปลอม 0 ฯลฯ");
        assert_eq!(
            normalize("zero\u{200b}width ❤️ emoji 🙂"),
            "zerowidth emoji"
        );
        assert_eq!(normalize("ÉCOLE Straße"), "école straße");
        assert_eq!(normalize("?!…"), "");
    }

    #[test]
    fn thai_tone_marks_stay_inside_their_word() {
        // U+0E48 MAI EK is neither alphabetic nor numeric in Unicode.
        assert_eq!(normalize("ไม่ได้"), "ไม่ได้");
    }

    #[test]
    fn signatures_estimate_jaccard_similarity() {
        let params = ClusterParams::default();
        let hasher = MinHasher::new(&params);
        let a = hasher.signature("the quick brown fox jumps over the lazy dog");
        assert_eq!(a.len(), 128);
        assert_eq!(estimated_similarity(&a, &a), 1.0);
        assert_eq!(
            a,
            MinHasher::new(&params).signature("The quick, brown fox jumps over the lazy dog!")
        );
        let b = hasher.signature("the quick brown cat jumps over the lazy dog");
        let similarity = estimated_similarity(&a, &b);
        // 3 changed characters change the 5 shingles that hold one of them
        // ("n f", " fo", "fox", "ox ", "x j" become "n c", " ca", "cat",
        // "at ", "t j"). Of 39 distinct shingles (41 windows; "the" and
        // "he " recur), 34 are shared: 34 / (39 + 5) = 0.773.
        let exact = 34.0 / 44.0;
        assert!((similarity - exact).abs() < 0.12, "{similarity}");
        let mut shingles = Vec::new();
        hasher.shingle_hashes(
            &normalize("the quick brown fox jumps over the lazy dog"),
            &mut shingles,
        );
        assert_eq!(shingles.len(), 39);
        let c = hasher.signature("一个完全不同的句子");
        assert!(estimated_similarity(&a, &c) < 0.05);
        assert!(hasher.signature(" !? ").is_empty());
        assert_eq!(estimated_similarity(&[], &[]), 0.0);
    }

    #[test]
    fn the_s_curve_of_the_defaults() {
        let params = ClusterParams::default();
        assert!((params.lsh_threshold() - 0.4204).abs() < 1e-3);
        assert!((params.candidate_probability(0.5) - 0.8731).abs() < 1e-3);
        assert!((params.candidate_probability(0.55) - 0.9536).abs() < 1e-3);
        assert!(params.candidate_probability(0.7) > 0.999);
        assert!(params.candidate_probability(0.2) < 0.06);
    }

    #[test]
    fn near_duplicates_and_shared_subjects_form_clusters() {
        let items = [
            item(
                1,
                "Fake giveaway page impersonating our brand, order 1234",
                &[],
            ),
            item(2, "Weather report for tomorrow in the north", &["post:9"]),
            item(
                3,
                "Fake giveaway page impersonating our brand!! order 98765",
                &[],
            ),
            item(
                4,
                "偽のプレゼント企画で当社ブランドになりすましたページ",
                &[],
            ),
            item(5, "Completely unrelated text about recipes", &["account:7"]),
            item(
                6,
                "偽のプレゼント企画で当社ブランドになりすましているページ",
                &[],
            ),
            item(
                7,
                "Another unrelated note on sports",
                &["account:7", "post:9"],
            ),
            item(8, "", &["account:7"]),
        ];
        let found = clusters(&items, &ClusterParams::default());
        let members: Vec<_> = found.iter().map(|c| c.members.clone()).collect();
        assert_eq!(members, [vec![2, 5, 7, 8], vec![1, 3], vec![4, 6]]);
        assert_eq!(found[0].shared_subjects, ["account:7", "post:9"]);
        assert_eq!(found[0].representative, 2);
        assert!(found[0].mean_similarity < 0.2);
        assert!(found[1].mean_similarity > 0.8, "{:?}", found[1]);
        assert!(found[2].mean_similarity > 0.5, "{:?}", found[2]);
    }

    #[test]
    fn too_common_subjects_and_small_clusters_are_left_out() {
        let texts = [
            "a weather report for the north",
            "recipes for a summer picnic",
            "the football results of sunday",
            "港口的天气预报",
            "ตารางรถไฟวันจันทร์",
        ];
        let items: Vec<_> = (0..5)
            .map(|i| item(i, texts[i as usize], &["page:home"]))
            .collect();
        let params = ClusterParams {
            subject_max_items: 4,
            ..ClusterParams::default()
        };
        assert!(clusters(&items, &params).is_empty());
        let params = ClusterParams {
            min_size: 6,
            ..ClusterParams::default()
        };
        assert!(clusters(&items, &params).is_empty());
        assert_eq!(clusters(&items, &ClusterParams::default()).len(), 1);
    }

    #[test]
    fn a_bucket_of_many_copies_is_one_cluster() {
        let items: Vec<_> = (0..5_000)
            .map(|i| item(i, &format!("Click here to claim your prize #{i}"), &[]))
            .collect();
        let found = clusters(&items, &ClusterParams::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].members.len(), 5_000);
        assert_eq!(found[0].mean_similarity, 1.0);
    }

    #[test]
    fn evaluation_counts_pairs() {
        let cluster = |members: &[u64]| Cluster {
            members: members.to_vec(),
            representative: members[0],
            mean_similarity: 1.0,
            shared_subjects: Vec::new(),
        };
        // Planted pairs: {1,2,3} → 3, {4,5} → 1: 4. Found pairs: {1,2,3,9}
        // → 6, {4,6} → 1: 7. Correct: {1,2,3} → 3.
        let e = evaluate(
            &[cluster(&[1, 2, 3, 9]), cluster(&[4, 6])],
            &[vec![1, 2, 3], vec![4, 5]],
        );
        assert_eq!((e.found_pairs, e.planted_pairs, e.correct_pairs), (7, 4, 3));
        assert!((e.precision - 3.0 / 7.0).abs() < 1e-9);
        assert!((e.recall - 0.75).abs() < 1e-9);
        let none = evaluate(&[], &[]);
        assert_eq!((none.precision, none.recall), (1.0, 1.0));
    }

    #[test]
    fn the_defaults_are_valid_and_bad_params_name_each_field() {
        assert_eq!(ClusterParams::default().validate(), Ok(()));
        let params: ClusterParams = serde_json::from_str(r#"{"threshold": 0.6}"#).unwrap();
        assert_eq!(params.bands, 32);
        let bad = ClusterParams {
            shingle: 0,
            bands: 0,
            rows: 17,
            threshold: f64::NAN,
            min_size: 1,
            subject_max_items: 1,
            seed: 0,
        };
        let Invalid(errors) = bad.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "shingle",
                "bands",
                "rows",
                "threshold",
                "min_size",
                "subject_max_items"
            ]
        );
    }
}
