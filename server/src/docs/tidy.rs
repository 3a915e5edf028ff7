//! Rules applied to every operation of the generated document, so that each handler's
//! `#[utoipa::path]` stays short and the document stays valid as routes are added:
//! a one-sentence summary (the rest of the doc comment's first paragraph becomes the
//! description), an operation id unique across the document, and the 401 answer of every
//! operation that needs a token.

use utoipa::{
    Modify,
    openapi::{
        ContentBuilder, OpenApi, PathItem, Ref, ResponseBuilder, path::Operation,
        security::SecurityRequirement,
    },
};

/// The modifier that applies the rules (see the module documentation).
pub struct Tidy;

impl Modify for Tidy {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                split_summary(operation);
                prefix_operation_id(operation);
                document_unauthorized(operation);
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
    .chain(item.additional_operations.values_mut())
}

/// utoipa takes a doc comment's whole first paragraph as the summary. Clients and UIs show
/// the summary as a one-line title, so it keeps the first sentence, on one line; the rest of
/// the paragraph opens the description.
fn split_summary(operation: &mut Operation) {
    let Some(summary) = operation.summary.take() else {
        return;
    };
    let summary = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    let (first, rest) = first_sentence(&summary);
    operation.summary = Some(first.to_owned());
    if !rest.is_empty() {
        operation.description = Some(match operation.description.take() {
            Some(more) if !more.trim().is_empty() => format!("{rest}\n\n{more}"),
            _ => rest.to_owned(),
        });
    }
}

/// Splits after the first full stop that ends a sentence: followed by a space, outside
/// parentheses and code spans, and not the one of "e.g." or "i.e.".
fn first_sentence(text: &str) -> (&str, &str) {
    let (mut depth, mut in_code) = (0usize, false);
    for (i, c) in text.char_indices() {
        match c {
            '`' => in_code = !in_code,
            '(' if !in_code => depth += 1,
            ')' if !in_code => depth = depth.saturating_sub(1),
            '.' if !in_code && depth == 0 => {
                let (head, tail) = text.split_at(i + 1);
                let abbreviation = head.ends_with("e.g.") || head.ends_with("i.e.");
                if tail.starts_with(' ') && !abbreviation {
                    return (head, tail.trim_start());
                }
            }
            _ => {}
        }
    }
    (text, "")
}

/// utoipa names an operation after its handler, and several modules have a `list` or a
/// `create`: the tag (the module's aggregate) goes in front, unless the name already says it
/// (`list_users`, `get_user` under `users`; `sync` under `sync`).
fn prefix_operation_id(operation: &mut Operation) {
    let (Some(id), Some(tag)) = (
        operation.operation_id.as_deref(),
        operation.tags.as_ref().and_then(|tags| tags.first()),
    ) else {
        return;
    };
    let named = |word: &str| word == tag || tag.strip_suffix('s') == Some(word);
    if !id.split('_').any(named) {
        operation.operation_id = Some(format!("{tag}_{id}"));
    }
}

/// Every operation that wants a token answers 401 without a valid one (the `AuthUser`
/// extractor), in the API's error shape.
fn document_unauthorized(operation: &mut Operation) {
    let needs_token = operation
        .security
        .as_ref()
        .is_some_and(|all| all.iter().any(|r| *r != SecurityRequirement::default()));
    if !needs_token || operation.responses.responses.contains_key("401") {
        return;
    }
    let response = ResponseBuilder::new()
        .description("Missing, invalid or expired access token")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .insert("401".to_owned(), response.into());
}

#[cfg(test)]
mod tests {
    use super::first_sentence;

    #[test]
    fn the_first_sentence_ends_at_a_full_stop_outside_parentheses_and_code() {
        assert_eq!(
            first_sentence("One session. Its number follows."),
            ("One session.", "Its number follows.")
        );
        assert_eq!(
            first_sentence("Pay (e.g. by Wave. Or cash) with `a. b` now. Then wait."),
            ("Pay (e.g. by Wave. Or cash) with `a. b` now.", "Then wait.")
        );
        assert_eq!(
            first_sentence("Any fee, e.g. the penalty. More."),
            ("Any fee, e.g. the penalty.", "More.")
        );
        assert_eq!(first_sentence("No full stop"), ("No full stop", ""));
        assert_eq!(first_sentence("Ends here."), ("Ends here.", ""));
    }
}
