//! `ombud bench clusters`: how well similar-escalation clustering finds
//! planted clusters in generated reports (Latin, Japanese, Chinese and Thai
//! text; near-duplicate waves and unrelated reports sharing a subject), and
//! how long it takes on one core. Pairwise precision and recall against the
//! planted truth, over several seeds.

use std::time::Instant;

use ombud_domain::emerging::similarity::{ClusterParams, clusters, evaluate};
use ombud_domain::emerging::synthetic::{CorpusSpec, corpus};

#[derive(Debug, clap::Args)]
pub struct ClustersArgs {
    /// Unrelated background reports per run.
    #[arg(long, default_value_t = 100_000)]
    background: usize,
    /// Planted near-duplicate waves (3 to 8 reports each) per run.
    #[arg(long, default_value_t = 1_000)]
    waves: usize,
    /// Planted groups of unrelated reports sharing a subject (2 to 5 each).
    #[arg(long, default_value_t = 200)]
    shared_subjects: usize,
    /// Runs, each with its own seed.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
}

pub fn run(args: &ClustersArgs) -> anyhow::Result<()> {
    let params = ClusterParams::default();
    println!(
        "clusters: {} background + {} waves + {} shared-subject groups per run; shingles of {}, {} bands x {} rows, threshold {}",
        args.background,
        args.waves,
        args.shared_subjects,
        params.shingle,
        params.bands,
        params.rows,
        params.threshold
    );
    for seed in 1..=args.seeds {
        let generated = corpus(&CorpusSpec {
            seed,
            background: args.background,
            text_clusters: args.waves,
            subject_clusters: args.shared_subjects,
        });
        let started = Instant::now();
        let found = clusters(&generated.items, &params);
        let took = started.elapsed();
        let score = evaluate(&found, &generated.planted);
        println!(
            "seed {seed}: {} items, {} planted, {} found in {:.2} s; precision {:.4}, recall {:.4} ({} of {} planted pairs, {} pairs found)",
            generated.items.len(),
            generated.planted.len(),
            found.len(),
            took.as_secs_f64(),
            score.precision,
            score.recall,
            score.correct_pairs,
            score.planted_pairs,
            score.found_pairs
        );
    }
    Ok(())
}
