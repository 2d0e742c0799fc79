//! The skills extension (SEP-2640, `io.modelcontextprotocol/skills`): one
//! skill, `pdf-forms`, whose files are ordinary resources under
//! `skill://pdf-forms/`, with a subdirectory for `resources/directory/read`.

use rmcp::model::{
    ListResourcesResult, ListSkillsResult, Resource, ResourceContents, Skill, SkillFrontmatter,
    SkillResource, SkillResources,
};
use rmcp::ErrorData as McpError;
use serde_json::json;

const NAME: &str = "pdf-forms";
const DESCRIPTION: &str = "Fill in and merge PDF forms";
const ROOT: &str = "skill://pdf-forms";
const SKILL_MD_URI: &str = "skill://pdf-forms/SKILL.md";
const REFERENCES: &str = "skill://pdf-forms/references";
const FORMS_URI: &str = "skill://pdf-forms/references/FORMS.md";
const MARKDOWN: &str = "text/markdown";
const DIRECTORY: &str = "inode/directory";

/// Its frontmatter must equal the entry's `frontmatter`, field for field.
const SKILL_MD: &str = "---
name: pdf-forms
description: Fill in and merge PDF forms
---

# PDF forms

Read references/FORMS.md before filling in a form.
";

const FORMS_MD: &str = "# Form fields

Every field has a name, a type and a value.
";

/// The one skill, with the digests and sizes of its files.
fn skill() -> Skill {
    Skill::new(
        SKILL_MD_URI,
        SkillFrontmatter::new(NAME, DESCRIPTION),
        SkillResources::Files(vec![
            SkillResource::from_bytes(SKILL_MD_URI, SKILL_MD.as_bytes()),
            SkillResource::from_bytes(FORMS_URI, FORMS_MD.as_bytes()),
        ]),
    )
}

/// `skills/list`.
pub fn list() -> ListSkillsResult {
    ListSkillsResult::with_all_items(vec![skill()])
}

/// `skills/get`: `-32602` for a URI this server does not serve.
pub fn get(uri: &str) -> Result<Skill, McpError> {
    if uri == SKILL_MD_URI {
        Ok(skill())
    } else {
        Err(McpError::invalid_params(
            format!("no skill at {uri}"),
            Some(json!({ "uri": uri })),
        ))
    }
}

/// The `SKILL.md` entry of `resources/list`, named after the frontmatter.
pub fn listed() -> Resource {
    Resource::new(SKILL_MD_URI, NAME)
        .with_description(DESCRIPTION)
        .with_mime_type(MARKDOWN)
}

/// `resources/read` of a skill file.
pub fn read(uri: &str) -> Option<ResourceContents> {
    let text = match uri {
        SKILL_MD_URI => SKILL_MD,
        FORMS_URI => FORMS_MD,
        _ => return None,
    };
    Some(ResourceContents::text(text, uri).with_mime_type(MARKDOWN))
}

/// `resources/directory/read`: the direct children of a skill directory,
/// subdirectories marked `inode/directory`; `-32602` for anything else.
pub fn directory(uri: &str) -> Result<ListResourcesResult, McpError> {
    let children = match uri.trim_end_matches('/') {
        ROOT => vec![
            Resource::new(SKILL_MD_URI, "SKILL.md").with_mime_type(MARKDOWN),
            Resource::new(REFERENCES, "references").with_mime_type(DIRECTORY),
        ],
        REFERENCES => vec![Resource::new(FORMS_URI, "FORMS.md").with_mime_type(MARKDOWN)],
        _ => {
            return Err(McpError::invalid_params(
                format!("{uri} is not a directory"),
                Some(json!({ "uri": uri })),
            ))
        }
    };
    Ok(ListResourcesResult::with_all_items(children))
}
