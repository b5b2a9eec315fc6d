//! Models: list, inspect, and manage fine-tuned models.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::tool::{Effect, OpEntry, OpSpec, Operation, entry};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<ListModels>(),
        entry::<RetrieveModel>(),
        entry::<DeleteModel>(),
        entry::<UpdateModel>(),
        entry::<ArchiveModel>(),
        entry::<UnarchiveModel>(),
    ]
}

/// List the models this key can use.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListModels {
    /// Only models from this provider.
    pub provider: Option<String>,
    /// Only models whose id matches this.
    pub model: Option<String>,
}

impl Operation for ListModels {
    const SPEC: OpSpec = OpSpec::get("models_list", "/v1/models").query(&["provider", "model"]);
}

/// A model id, base or fine-tuned.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrieveModel {
    /// For example `mistral-small-latest` or `ft:open-mistral-7b:…`.
    pub model_id: String,
}

impl Operation for RetrieveModel {
    const SPEC: OpSpec = OpSpec::get("models_retrieve", "/v1/models/{model_id}");
}

/// Delete a fine-tuned model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteModel {
    /// The fine-tuned model to delete.
    pub model_id: String,
}

impl Operation for DeleteModel {
    const SPEC: OpSpec = OpSpec::delete("models_delete", "/v1/models/{model_id}");
}

/// Rename or re-describe a fine-tuned model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModel {
    /// The fine-tuned model to update.
    pub model_id: String,
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

impl Operation for UpdateModel {
    const SPEC: OpSpec = OpSpec::patch("models_update", "/v1/fine_tuning/models/{model_id}");
}

/// Archive a fine-tuned model (reversible with models_unarchive).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveModel {
    /// The fine-tuned model to archive.
    pub model_id: String,
}

impl Operation for ArchiveModel {
    const SPEC: OpSpec = OpSpec::post(
        "models_archive",
        "/v1/fine_tuning/models/{model_id}/archive",
        Effect::Write,
    )
    .no_body()
    .idempotent();
}

/// Unarchive a fine-tuned model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveModel {
    /// The fine-tuned model to unarchive.
    pub model_id: String,
}

impl Operation for UnarchiveModel {
    // DELETE on …/archive means "unarchive": it restores, so it is not destructive.
    const SPEC: OpSpec = OpSpec::delete(
        "models_unarchive",
        "/v1/fine_tuning/models/{model_id}/archive",
    )
    .effect(Effect::Write);
}
