//! Clustering measured on planted corpora: what it finds against what was
//! planted, with the default parameters. Speed and precision at 100,000
//! reports are measured by `ombud bench clusters` (docs/benchmarks.md).

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
