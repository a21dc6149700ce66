//! The storage conformance story against two throwaway PostgreSQL databases.

use ombud_store_postgres::testing::TempDatabase;

#[tokio::test]
async fn postgres_passes_the_conformance_story() {
    let (Some(a), Some(b)) = (TempDatabase::create().await, TempDatabase::create().await) else {
        return;
    };
    let primary = ombud_store_postgres::open(a.url(), None).await.unwrap();
    let secondary = ombud_store_postgres::open(b.url(), None).await.unwrap();
    ombud_store::conformance::run(&primary, &secondary).await;
}
