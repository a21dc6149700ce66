//! Clustering measured on planted corpora: what it finds against what was
//! planted, with the default parameters.

use std::time::Instant;

use super::similarity::{ClusterParams, clusters, evaluate};
use super::synthetic::{CorpusSpec, corpus};

#[test]
fn planted_clusters_are_found_with_high_precision_and_recall() {
    for seed in [1, 2, 3] {
        let spec = CorpusSpec {
            seed,
            background: 2_000,
            text_clusters: 50,
            subject_clusters: 10,
        };
        let corpus = corpus(&spec);
        let found = clusters(&corpus.items, &ClusterParams::default());
        let e = evaluate(&found, &corpus.planted);
        println!(
            "seed {seed}: {} items, {} planted clusters, {} found; {e:?}",
            corpus.items.len(),
            corpus.planted.len(),
            found.len()
        );
        assert!(e.precision >= 0.95, "seed {seed}: {e:?}");
        assert!(e.recall >= 0.9, "seed {seed}: {e:?}");
    }
}

#[test]
fn the_same_seed_gives_the_same_corpus_and_clusters() {
    let spec = CorpusSpec {
        seed: 9,
        background: 300,
        text_clusters: 10,
        subject_clusters: 3,
    };
    let (a, b) = (corpus(&spec), corpus(&spec));
    assert_eq!(a.items, b.items);
    assert_eq!(a.planted, b.planted);
    let params = ClusterParams::default();
    assert_eq!(clusters(&a.items, &params), clusters(&b.items, &params));
}

/// 100,000 items in seconds. Slow unoptimised, so run it with
/// `cargo test --release -p ombud-domain emerging -- --ignored --nocapture`.
#[test]
#[ignore = "a timing run: use --release"]
fn a_hundred_thousand_items_cluster_in_seconds() {
    let spec = CorpusSpec {
        seed: 100,
        background: 95_000,
        text_clusters: 800,
        subject_clusters: 200,
    };
    let corpus = corpus(&spec);
    let started = Instant::now();
    let found = clusters(&corpus.items, &ClusterParams::default());
    let took = started.elapsed();
    let e = evaluate(&found, &corpus.planted);
    println!(
        "{} items, {} planted clusters, {} found in {took:?}; {e:?}",
        corpus.items.len(),
        corpus.planted.len(),
        found.len()
    );
    assert!(e.precision >= 0.95, "{e:?}");
    assert!(e.recall >= 0.9, "{e:?}");
}
