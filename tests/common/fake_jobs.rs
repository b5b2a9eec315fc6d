//! Default fake-upstream answers for one group of API areas.

use serde_json::Value;

use super::Reply;

/// A realistic answer for `method path`, or `None` if this group has no such route.
pub fn reply(_method: &str, _path: &str, _req: &Value) -> Option<Reply> {
    None
}
