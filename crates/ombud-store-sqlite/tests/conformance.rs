//! The storage conformance story against SQLite files in a temporary directory.

#[tokio::test]
async fn sqlite_passes_the_conformance_story() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = ombud_store_sqlite::open(a.path()).await.unwrap();
    let secondary = ombud_store_sqlite::open(b.path()).await.unwrap();
    ombud_store::conformance::run(&primary, &secondary).await;
}
