//! MCP prompts: the multi-step Mistral workflows people ask for, ready to run. Each prompt
//! is data (name, arguments, the tools it needs, the steps as a template); `prompts/get`
//! fills the template with the caller's arguments and names each tool the way this server
//! reaches it (directly when listed, through `call_tool` otherwise). A prompt is offered
//! only to callers who may run every tool it needs.

use std::collections::HashMap;

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CacheScope, GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage, Role,
};

use super::{Caller, META_CALL, McpServer};

/// How long a client may reuse the prompt list, in ms.
const PROMPTS_TTL_MS: u64 = 300_000;

pub struct PromptArg {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Used when the caller leaves the argument out.
    pub default: Option<&'static str>,
}

pub struct PromptDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub arguments: &'static [PromptArg],
    /// Every tool the steps call; the prompt is hidden from callers who lack one.
    pub tools: &'static [&'static str],
    /// The steps. `{arg}` is an argument's value; `` `tool:NAME` `` is how to call a tool
    /// here.
    pub template: &'static str,
}

const fn arg(name: &'static str, description: &'static str) -> PromptArg {
    PromptArg {
        name,
        description,
        required: true,
        default: None,
    }
}

const fn optional(
    name: &'static str,
    description: &'static str,
    default: &'static str,
) -> PromptArg {
    PromptArg {
        name,
        description,
        required: false,
        default: Some(default),
    }
}

pub const PROMPTS: &[PromptDef] = &[
    PromptDef {
        name: "ocr_and_summarize",
        title: "OCR a document and summarize it",
        description: "Read a PDF or image with Mistral OCR, then summarize what it says.",
        arguments: &[
            arg(
                "document",
                "The document: a public URL, the id of a file already uploaded to Mistral, or a local path the server may read.",
            ),
            optional(
                "focus",
                "What the summary should concentrate on, e.g. \"amounts and due dates\".",
                "the main points",
            ),
        ],
        tools: &["ocr_process", "files_upload"],
        template: "Summarize a document with Mistral OCR. Document: {document}\n\n\
1. If the document is a local path, upload it first: `tool:files_upload` with `path` set to it and `purpose` \"ocr\"; keep the returned `id`.\n\
2. Run `tool:ocr_process` with `document` set to `{\"type\": \"document_url\", \"document_url\": \"<the URL>\"}` for a URL, \
or `{\"type\": \"file\", \"file_id\": \"<the id>\"}` for an uploaded file (`image_url` instead of `document_url` for a picture).\n\
3. Read the Markdown of every page the result returns. If it says text was cut, ask for the remaining pages with `pages`.\n\
4. Write a summary focused on {focus}: a two-sentence overview, then at most eight bullet points, each citing its page number. \
Say plainly when something asked for is not in the document.",
    },
    PromptDef {
        name: "rag_setup",
        title: "Set up retrieval over my documents",
        description: "Create a document library, upload documents into it, wait until they are indexed, and create an agent that searches it.",
        arguments: &[
            arg(
                "library",
                "Name for a new library, e.g. \"Support handbook\", or the id of an existing library to add the documents to.",
            ),
            arg(
                "documents",
                "The documents to add, separated by commas: local paths the server may read.",
            ),
            optional("model", "Model the agent runs on.", "mistral-medium-latest"),
        ],
        tools: &[
            "libraries_list",
            "libraries_create",
            "libraries_documents_upload",
            "libraries_documents_wait",
            "agents_create",
        ],
        template: "Set up retrieval (RAG) over these documents: {documents}\n\n\
1. If \"{library}\" is the id of one of your libraries (`tool:libraries_list` shows them), use it. Otherwise create it: \
`tool:libraries_create` with `name` \"{library}\" and a one-line `description` of what it holds. Keep the library's `id`.\n\
2. For each document, `tool:libraries_documents_upload` with `library_id` and `path`; keep each document's `id`.\n\
3. For each document, `tool:libraries_documents_wait` with `library_id` and `document_id` until its processing status is done. \
If one fails, report which and why, and go on with the others.\n\
4. Create the agent: `tool:agents_create` with a `name` after the library's, `model` \"{model}\", \
`instructions` telling it to answer from the library and to say when the library does not cover a question, \
and `tools` `[{\"type\": \"document_library\", \"library_ids\": [\"<the library id>\"]}]`.\n\
5. Report the library id, the documents indexed and the agent id, and suggest a first question to ask the agent.",
    },
    PromptDef {
        name: "batch_from_jsonl",
        title: "Run a batch from a JSONL file",
        description: "Upload a JSONL file of requests, run it as a batch job, wait for it and fetch the results.",
        arguments: &[
            arg(
                "input_file",
                "The JSONL file: a local path the server may read, or the id of a file uploaded with purpose batch. One request per line: {\"custom_id\": \"…\", \"body\": {…}}.",
            ),
            arg(
                "model",
                "Model every request runs on, e.g. mistral-small-latest.",
            ),
            optional(
                "endpoint",
                "Endpoint the requests go to.",
                "/v1/chat/completions",
            ),
        ],
        tools: &[
            "files_upload",
            "batch_jobs_create",
            "batch_jobs_wait",
            "files_download",
        ],
        template: "Run a batch job over {input_file}.\n\n\
1. If it is a local path, upload it: `tool:files_upload` with `path` and `purpose` \"batch\"; keep the file `id`.\n\
2. Start the job: `tool:batch_jobs_create` with `input_files` [the file id], `endpoint` \"{endpoint}\" and `model` \"{model}\"; keep the job `id`.\n\
3. Wait: `tool:batch_jobs_wait` with `job_id`. It returns when the job ends or its timeout passes; call it again until the status is \
SUCCESS, FAILED, TIMEOUT_EXCEEDED or CANCELLED. Report progress (succeeded and failed request counts) as it comes.\n\
4. When it succeeded, fetch the results: `tool:files_download` with the job's `output_file` (and `error_file` if any requests failed); \
give a `save_to` path when the file is large.\n\
5. Report how many requests succeeded and failed, and show the first few results.",
    },
    PromptDef {
        name: "fine_tune",
        title: "Fine-tune a model on a training file",
        description: "Upload training data, start a fine-tuning job, and follow it to the new model.",
        arguments: &[
            arg(
                "training_file",
                "The training data in JSONL: a local path the server may read, or the id of a file uploaded with purpose fine-tune.",
            ),
            arg(
                "model",
                "Base model to fine-tune, e.g. open-mistral-7b or mistral-small-latest.",
            ),
            optional(
                "suffix",
                "Up to 18 characters added to the new model's name.",
                "my-model",
            ),
        ],
        tools: &[
            "files_upload",
            "fine_tuning_jobs_create",
            "fine_tuning_jobs_wait",
        ],
        template: "Fine-tune {model} on {training_file}. (Mistral has deprecated its fine-tuning API: check the job is still accepted.)\n\n\
1. If the training file is a local path, upload it: `tool:files_upload` with `path` and `purpose` \"fine-tune\"; keep the file `id`.\n\
2. Check first: `tool:fine_tuning_jobs_create` with `model` \"{model}\", `training_files` [{\"file_id\": \"<the id>\", \"weight\": 1}], \
`suffix` \"{suffix}\", `hyperparameters` {} and `dry_run` true. Report the estimated cost and duration and ask before going on.\n\
3. Start it: the same call without `dry_run`; keep the job `id`.\n\
4. Follow it: `tool:fine_tuning_jobs_wait` with `job_id`, again until the status is SUCCESS, FAILED or CANCELLED, reporting progress.\n\
5. Report the fine-tuned model's name (`fine_tuned_model`), ready for chat_complete.",
    },
];

impl McpServer {
    fn prompt_allowed(&self, prompt: &PromptDef, caller: &Caller) -> bool {
        prompt.tools.iter().all(|name| {
            self.exposed_tool(name)
                .is_some_and(|t| caller.grant.as_ref().is_none_or(|g| g.allows(t)))
        })
    }

    pub(super) fn list_prompts_for(&self, caller: &Caller) -> ListPromptsResult {
        let prompts = PROMPTS
            .iter()
            .filter(|p| self.prompt_allowed(p, caller))
            .map(|p| {
                let arguments = p
                    .arguments
                    .iter()
                    .map(|a| {
                        let description = match a.default {
                            Some(d) => format!("{} Default: {d}.", a.description),
                            None => a.description.to_string(),
                        };
                        PromptArgument::new(a.name)
                            .with_description(description)
                            .with_required(a.required)
                    })
                    .collect();
                Prompt::new(p.name, Some(p.description), Some(arguments)).with_title(p.title)
            })
            .collect();
        ListPromptsResult::with_all_items(prompts)
            .with_ttl_ms(PROMPTS_TTL_MS)
            .with_cache_scope(CacheScope::Private)
    }

    pub(super) fn get_prompt_for(
        &self,
        name: &str,
        arguments: &HashMap<String, String>,
        caller: &Caller,
    ) -> Result<GetPromptResult, McpError> {
        let prompt = PROMPTS
            .iter()
            .find(|p| p.name == name && self.prompt_allowed(p, caller))
            .ok_or_else(|| {
                let known: Vec<&str> = PROMPTS
                    .iter()
                    .filter(|p| self.prompt_allowed(p, caller))
                    .map(|p| p.name)
                    .collect();
                McpError::invalid_params(
                    format!(
                        "unknown prompt `{}`; this server offers: {}",
                        crate::tool::clip(name, 100),
                        known.join(", ")
                    ),
                    None,
                )
            })?;
        if let Some(unknown) = arguments
            .keys()
            .find(|k| !prompt.arguments.iter().any(|a| a.name == k.as_str()))
        {
            return Err(McpError::invalid_params(
                format!(
                    "prompt `{}` has no argument `{}`; its arguments: {}",
                    prompt.name,
                    crate::tool::clip(unknown, 100),
                    arg_names(prompt)
                ),
                None,
            ));
        }
        let mut text = prompt.template.to_string();
        for a in prompt.arguments {
            let value = arguments
                .get(a.name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .or(a.default);
            let Some(value) = value else {
                return Err(McpError::invalid_params(
                    format!(
                        "prompt `{}` needs `{}`: {}",
                        prompt.name, a.name, a.description
                    ),
                    None,
                ));
            };
            text = text.replace(&format!("{{{}}}", a.name), value);
        }
        let text = self.name_tools(&text);
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(prompt.description),
        )
    }

    /// Replaces each `` `tool:NAME` `` with how this caller reaches the tool: by name when
    /// it is in their tool list, else through call_tool.
    fn name_tools(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 64);
        let mut rest = text;
        let mut indirect = false;
        while let Some(start) = rest.find("`tool:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "`tool:".len()..];
            let Some(end) = after.find('`') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            if self.is_listed(name) {
                out.push_str(&format!("`{name}`"));
            } else {
                indirect = true;
                out.push_str(&format!("`{name}` (through `{META_CALL}`)"));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        if indirect {
            out.push_str(&format!(
                "\n\nTools marked \"through `{META_CALL}`\" are not in your tool list: run them with \
                 `{META_CALL}` and `{{\"name\": \"<tool>\", \"arguments\": {{…}}}}` (describe_tools shows their arguments)."
            ));
        }
        out
    }
}

fn arg_names(prompt: &PromptDef) -> String {
    prompt
        .arguments
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_an_argument() {
        for p in PROMPTS {
            let mut text = p.template.to_string();
            for a in p.arguments {
                text = text.replace(&format!("{{{}}}", a.name), "");
            }
            // What is left in braces is JSON for the agent, never an unfilled argument name.
            for a in ["{document}", "{model}", "{focus}", "{suffix}", "{endpoint}"] {
                assert!(!text.contains(a), "{}: {a}", p.name);
            }
            for t in p.template.split("`tool:").skip(1) {
                let name = t.split('`').next().unwrap_or("");
                assert!(p.tools.contains(&name), "{}: `{name}` not in tools", p.name);
            }
        }
    }
}
