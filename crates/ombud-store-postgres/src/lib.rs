//! placeholder
pub async fn open(_url: &str) -> Result<ombud_store::Stores, ombud_store::StoreError> {
    Err(ombud_store::StoreError::Conflict("not yet".into()))
}
