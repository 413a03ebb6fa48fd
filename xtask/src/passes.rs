//! Syntax-tree passes over generated code. Each one fails loudly when it matches less (or, for
//! the httpmock passes, other) than it expects, so a progenitor upgrade that changes the shape
//! cannot slip through unpatched.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use syn::visit_mut::VisitMut;

use crate::operation_table::Facts;

/// Marks the client method of every deprecated operation `#[deprecated]`, naming its
/// replacement.
pub fn mark_deprecated(file: &mut syn::File, operations: &[Facts]) -> Result<()> {
    let names: BTreeMap<&str, &str> = operations
        .iter()
        .map(|f| (f.id.as_str(), f.name.as_str()))
        .collect();
    let mut notes = BTreeMap::new();
    for f in operations {
        if let Some(to) = &f.replaced_by {
            let replacement = names.get(to.as_str()).copied().unwrap_or(to);
            notes.insert(
                f.name.clone(),
                format!(
                    "the legacy operation `{}`; use `{replacement}` (`{to}`)",
                    f.id
                ),
            );
        }
    }
    let mut pass = Deprecate {
        notes,
        marked: Vec::new(),
    };
    pass.visit_file_mut(file);
    let missing: Vec<&String> = pass
        .notes
        .keys()
        .filter(|name| !pass.marked.contains(name))
        .collect();
    if !missing.is_empty() {
        bail!(
            "no `impl Client` method found to mark deprecated for: {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

struct Deprecate {
    notes: BTreeMap<String, String>,
    marked: Vec<String>,
}

impl VisitMut for Deprecate {
    fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
        let is_client = item.trait_.is_none()
            && matches!(&*item.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client {
            return;
        }
        for member in &mut item.items {
            if let syn::ImplItem::Fn(method) = member {
                let name = method.sig.ident.to_string();
                if let Some(note) = self.notes.get(&name) {
                    method
                        .attrs
                        .push(syn::parse_quote!(#[deprecated(note = #note)]));
                    self.marked.push(name);
                }
            }
        }
    }
}

/// progenitor sends the spec's `info.version` as an `api-version` header on every request; the
/// Falcon API has no such header. Removes it where the request is built (in every builder's
/// `send`), and with it the header map when nothing else goes into it, so that no call builds,
/// merges and then removes a header. Fails unless it removes one per operation.
pub fn drop_api_version(file: &mut syn::File, operations: usize) -> Result<()> {
    let mut pass = DropApiVersion { removed: 0 };
    pass.visit_file_mut(file);
    if pass.removed != operations {
        bail!(
            "api-version pass: expected to remove the header from {operations} `send` methods, \
             removed it from {} (did progenitor's output change shape?)",
            pass.removed
        );
    }
    Ok(())
}

struct DropApiVersion {
    removed: usize,
}

/// The variable progenitor collects a request's headers in.
const HEADER_MAP: &str = "header_map";

impl VisitMut for DropApiVersion {
    fn visit_impl_item_fn_mut(&mut self, method: &mut syn::ImplItemFn) {
        if method.sig.ident != "send" {
            return;
        }
        let stmts = &mut method.block.stmts;
        let before = stmts.len();
        stmts.retain(|stmt| !is_api_version_append(stmt));
        if stmts.len() == before {
            return;
        }
        self.removed += before - stmts.len();
        // The map is kept when other headers go into it; else it and its use go too.
        let uses = |stmt: &syn::Stmt| mentions(stmt, HEADER_MAP);
        let declared = stmts.iter().position(|s| is_local_named(s, HEADER_MAP));
        let other_uses = stmts
            .iter()
            .filter(|s| uses(s) && !is_local_named(s, HEADER_MAP) && !passes_map_whole(s))
            .count();
        if let (Some(at), 0) = (declared, other_uses) {
            stmts.remove(at);
            for stmt in stmts.iter_mut() {
                DropHeadersCall.visit_stmt_mut(stmt);
            }
        }
    }
}

/// progenitor decodes a JSON answer with `ResponseValue::from_response`, which copies the
/// response's headers and reads its body again. A hook that has already read the body whole keeps
/// it beside the response, so every such call goes to the crate's own `body::response_value`,
/// which takes the headers and the kept body as they are. Fails unless every operation decodes
/// through it and no call to the original is left.
pub fn decode_read_bodies(file: &mut syn::File, operations: usize) -> Result<()> {
    let mut pass = DecodeReadBodies {
        decoder: syn::parse_str(DECODER)?,
        replaced: 0,
    };
    pass.visit_file_mut(file);
    let text = quote::quote!(#file).to_string();
    // The pipeline reads every body whole; an answer handed on as a stream would find its body
    // spent, so no operation may have one.
    if text.contains(STREAM) {
        bail!(
            "decoding pass: an operation answers with a byte stream, which the pipeline would \
             hand on already read"
        );
    }
    let left = text.matches(FROM_RESPONSE).count();
    if pass.replaced < operations || left > 0 {
        bail!(
            "decoding pass: replaced {} calls of `ResponseValue::from_response` for {operations} \
             operations, {left} left (did progenitor's output change shape?)",
            pass.replaced
        );
    }
    Ok(())
}

/// progenitor's decoding call, as its tokens print.
const FROM_RESPONSE: &str = "ResponseValue :: from_response";
/// progenitor's call for an answer handed on as a byte stream.
const STREAM: &str = "ResponseValue :: stream";
/// The generated crate's own decoding function (a path in the generated crate, not this one).
const DECODER: &str = "crate::body::response_value";

struct DecodeReadBodies {
    decoder: syn::ExprPath,
    replaced: usize,
}

impl VisitMut for DecodeReadBodies {
    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        syn::visit_mut::visit_expr_call_mut(self, call);
        if let syn::Expr::Path(path) = &*call.func
            && quote::quote!(#path).to_string() == FROM_RESPONSE
        {
            *call.func = syn::Expr::Path(self.decoder.clone());
            self.replaced += 1;
        }
    }
}

/// progenitor adds every query parameter with `.query(&QueryParam::new(name, &value))`, which
/// opens the URL's query for editing even when an optional parameter is absent. Every call of an
/// operation builder's `send` for an optional parameter (a builder field of type
/// `Result<Option<_>, String>`) goes to the crate's `query::optional` instead, which adds nothing
/// for an absent one. Fails unless it rewrites at least one, in the operation builders.
pub fn skip_absent_query_params(file: &mut syn::File) -> Result<()> {
    let Some(items) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("query pass: no `builder` module (did progenitor's output change shape?)");
    };
    let mut optional: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items.iter() {
        if let syn::Item::Struct(s) = item {
            for field in &s.fields {
                let ty = &field.ty;
                let ty = quote::quote!(#ty).to_string().replace(' ', "");
                if let Some(ident) = &field.ident
                    && ty.starts_with("Result<Option<")
                {
                    optional
                        .entry(s.ident.to_string())
                        .or_default()
                        .push(ident.to_string());
                }
            }
        }
    }
    let mut pass = SkipAbsent {
        helper: syn::parse_str(OPTIONAL)?,
        optional: Vec::new(),
        rewritten: 0,
    };
    for item in items.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let syn::Type::Path(ty) = &*imp.self_ty else {
            continue;
        };
        let Some(name) = ty.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        pass.optional = optional.get(&name).cloned().unwrap_or_default();
        for member in &mut imp.items {
            if let syn::ImplItem::Fn(method) = member
                && method.sig.ident == "send"
            {
                pass.visit_impl_item_fn_mut(method);
            }
        }
    }
    if pass.rewritten == 0 {
        bail!(
            "query pass: no optional query parameter found (did progenitor's output change shape?)"
        );
    }
    Ok(())
}

/// The generated crate's helper that adds an optional parameter (a path in the generated
/// crate, not this one).
const OPTIONAL: &str = "crate::query::optional";

struct SkipAbsent {
    helper: syn::ExprPath,
    /// The optional fields of the builder whose `send` is being visited.
    optional: Vec<String>,
    rewritten: usize,
}

impl VisitMut for SkipAbsent {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let syn::Expr::MethodCall(call) = expr else {
            return;
        };
        if call.method != "query" || call.args.len() != 1 {
            return;
        }
        let Some((name, value)) = call.args.first().and_then(query_param) else {
            return;
        };
        if !self.optional.contains(&value) {
            return;
        }
        let receiver = &call.receiver;
        let value = syn::Ident::new(&value, proc_macro2::Span::call_site());
        let helper = &self.helper;
        *expr = syn::parse_quote!(#helper(#receiver, #name, &#value));
        self.rewritten += 1;
    }
}

/// `&progenitor_client::QueryParam::new("<name>", &<value>)`: the name's literal and the
/// value's variable.
fn query_param(arg: &syn::Expr) -> Option<(syn::LitStr, String)> {
    let syn::Expr::Reference(reference) = arg else {
        return None;
    };
    let syn::Expr::Call(call) = &*reference.expr else {
        return None;
    };
    let func = &call.func;
    if quote::quote!(#func).to_string().replace(' ', "") != "progenitor_client::QueryParam::new" {
        return None;
    }
    let mut args = call.args.iter();
    let (Some(syn::Expr::Lit(name)), Some(syn::Expr::Reference(value)), None) =
        (args.next(), args.next(), args.next())
    else {
        return None;
    };
    let (syn::Lit::Str(name), syn::Expr::Path(value)) = (&name.lit, &*value.expr) else {
        return None;
    };
    Some((name.clone(), value.path.get_ident()?.to_string()))
}

/// Rewrites `<request>.headers(header_map)` to `<request>`.
struct DropHeadersCall;

impl VisitMut for DropHeadersCall {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if let syn::Expr::MethodCall(call) = expr
            && is_headers_call(call)
        {
            *expr = (*call.receiver).clone();
            self.visit_expr_mut(expr);
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// `.headers(header_map)`.
fn is_headers_call(call: &syn::ExprMethodCall) -> bool {
    call.method == "headers"
        && call.args.len() == 1
        && matches!(call.args.first(), Some(syn::Expr::Path(p)) if p.path.is_ident(HEADER_MAP))
}

/// `header_map.append(<a name made from "api-version">, ..);`
fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = stmt else {
        return false;
    };
    call.method == "append"
        && matches!(&*call.receiver, syn::Expr::Path(p) if p.path.is_ident(HEADER_MAP))
        && call
            .args
            .first()
            .is_some_and(|name| quote::quote!(#name).to_string().contains("\"api-version\""))
}

/// `let mut <name> = ..;`
fn is_local_named(stmt: &syn::Stmt, name: &str) -> bool {
    let syn::Stmt::Local(local) = stmt else {
        return false;
    };
    matches!(&local.pat, syn::Pat::Ident(p) if p.ident == name)
}

/// The statement hands the whole map to `.headers(..)` and does nothing else with it.
fn passes_map_whole(stmt: &syn::Stmt) -> bool {
    let text = quote::quote!(#stmt).to_string();
    text.matches(HEADER_MAP).count() == text.matches(". headers (header_map)").count()
}

/// The statement's tokens name `ident`.
fn mentions(stmt: &syn::Stmt, ident: &str) -> bool {
    quote::quote!(#stmt)
        .into_iter()
        .any(|t| token_mentions(&t, ident))
}

fn token_mentions(token: &proc_macro2::TokenTree, ident: &str) -> bool {
    match token {
        proc_macro2::TokenTree::Ident(i) => i == ident,
        proc_macro2::TokenTree::Group(g) => {
            g.stream().into_iter().any(|t| token_mentions(&t, ident))
        }
        _ => false,
    }
}

/// An operation's setter for one array query parameter on the httpmock `When` type: the type
/// is `<OperationId>When` and the setter matches the query key.
#[derive(Debug, Clone)]
pub struct ArrayQueryParam {
    /// The `When` type, e.g. `LegacyEntitiesRolesV1When`.
    pub when: String,
    /// The query key, e.g. `ids`.
    pub key: String,
}

/// progenitor's httpmock setter for an array query parameter does not compile (it passes a
/// `Vec` where httpmock wants one string); this matches each element as its own repeated key.
/// Fails unless it rewrites exactly the `expected` setters.
pub fn repeat_array_query_params(file: &mut syn::File, expected: &[ArrayQueryParam]) -> Result<()> {
    let mut pass = ArrayQuery { found: Vec::new() };
    pass.visit_file_mut(file);
    check_found(
        "array query parameter setter (`fn _(self, value: &Vec<String>)` calling `query_param`)",
        expected.iter().map(|p| format!("{}::{}", p.when, p.key)),
        pass.found,
    )
}

struct ArrayQuery {
    found: Vec<String>,
}

impl VisitMut for ArrayQuery {
    fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
        let Some(ty) = self_type_name(item) else {
            return;
        };
        for method in impl_fns(item) {
            if !value_type(&method.sig).is_some_and(is_vec_of_string) {
                continue;
            }
            let Some(key) = array_query_key(&method.block) else {
                continue;
            };
            method.block = syn::parse_quote!({
                Self(value.iter().fold(self.0, |when, v| when.query_param(#key, v)))
            });
            self.found.push(format!("{ty}::{}", key.value()));
        }
    }
}

/// progenitor's httpmock body matcher compares JSON; form bodies (the OAuth2 operations) must
/// be matched as the urlencoded text the client sends, with its content type. Fails unless it
/// rewrites the `body` matcher of exactly the `form_types` (`<OperationId>Body`).
pub fn match_form_bodies(file: &mut syn::File, form_types: &[String]) -> Result<()> {
    let mut pass = FormBodies {
        form_types,
        found: Vec::new(),
    };
    pass.visit_file_mut(file);
    check_found(
        "JSON body matcher (`fn body(self, value: &types::_)` calling `json_body_obj`) for a form body",
        form_types.iter().cloned(),
        pass.found,
    )
}

struct FormBodies<'a> {
    form_types: &'a [String],
    found: Vec<String>,
}

impl VisitMut for FormBodies<'_> {
    fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
        for method in impl_fns(item) {
            if method.sig.ident != "body" || !is_json_body_matcher(&method.block) {
                continue;
            }
            let body_type = value_type(&method.sig).and_then(types_name);
            let Some(name) = body_type.filter(|n| self.form_types.contains(n)) else {
                continue;
            };
            method.block = syn::parse_quote!({
                let form = ::serde_urlencoded::to_string(value).expect("form bodies serialize");
                Self(
                    self.0
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form),
                )
            });
            self.found.push(name);
        }
    }
}

/// Compares what a pass rewrote with what it should have, naming both sides of any mismatch.
fn check_found(
    what: &str,
    expected: impl Iterator<Item = String>,
    mut found: Vec<String>,
) -> Result<()> {
    let mut expected: Vec<String> = expected.collect();
    expected.sort();
    found.sort();
    if expected == found {
        return Ok(());
    }
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| !found.contains(e))
        .map(String::as_str)
        .collect();
    let unexpected: Vec<&str> = found
        .iter()
        .filter(|f| !expected.contains(f))
        .map(String::as_str)
        .collect();
    bail!(
        "httpmock pass: expected to rewrite {} {what}, rewrote {}; not found: [{}]; not expected: [{}] \
         (did progenitor's output change shape?)",
        expected.len(),
        found.len(),
        missing.join(", "),
        unexpected.join(", ")
    )
}

/// The name of an inherent impl's self type (`impl FooWhen { .. }` → `FooWhen`).
fn self_type_name(item: &syn::ItemImpl) -> Option<String> {
    match (&item.trait_, &*item.self_ty) {
        (None, syn::Type::Path(p)) => p.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

/// The methods of an impl block.
fn impl_fns(item: &mut syn::ItemImpl) -> impl Iterator<Item = &mut syn::ImplItemFn> {
    item.items.iter_mut().filter_map(|member| match member {
        syn::ImplItem::Fn(method) => Some(method),
        _ => None,
    })
}

/// `T` of a `(self, value: T)` signature.
fn value_type(sig: &syn::Signature) -> Option<&syn::Type> {
    let mut inputs = sig.inputs.iter();
    let (Some(syn::FnArg::Receiver(_)), Some(syn::FnArg::Typed(arg)), None) =
        (inputs.next(), inputs.next(), inputs.next())
    else {
        return None;
    };
    matches!(&*arg.pat, syn::Pat::Ident(p) if p.ident == "value").then_some(&*arg.ty)
}

/// Whether `path` is exactly these segments (generic arguments aside), with a leading `::`
/// when `absolute`.
fn path_is(path: &syn::Path, absolute: bool, segments: &[&str]) -> bool {
    path.leading_colon.is_some() == absolute
        && path.segments.len() == segments.len()
        && path
            .segments
            .iter()
            .zip(segments)
            .all(|(s, want)| s.ident == want)
}

/// `&::std::vec::Vec<::std::string::String>`.
fn is_vec_of_string(ty: &syn::Type) -> bool {
    let syn::Type::Reference(reference) = ty else {
        return false;
    };
    let syn::Type::Path(vec) = &*reference.elem else {
        return false;
    };
    if !path_is(&vec.path, true, &["std", "vec", "Vec"]) {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &vec.path.segments[2].arguments else {
        return false;
    };
    matches!(
        args.args.first(),
        Some(syn::GenericArgument::Type(syn::Type::Path(item)))
            if args.args.len() == 1 && path_is(&item.path, true, &["std", "string", "String"])
    )
}

/// `&types::Name` → `Name`.
fn types_name(ty: &syn::Type) -> Option<String> {
    let syn::Type::Reference(reference) = ty else {
        return None;
    };
    let syn::Type::Path(p) = &*reference.elem else {
        return None;
    };
    let segments = &p.path.segments;
    (p.path.leading_colon.is_none() && segments.len() == 2 && segments[0].ident == "types")
        .then(|| segments[1].ident.to_string())
}

/// The single expression of `Self(<inner>)`, if that is the whole block.
fn self_call_arg(block: &syn::Block) -> Option<&syn::Expr> {
    let [syn::Stmt::Expr(syn::Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let syn::Expr::Path(func) = &*call.func else {
        return None;
    };
    if !func.path.is_ident("Self") || call.args.len() != 1 {
        return None;
    }
    call.args.first()
}

/// `self.0.<method>(<args>)`: the arguments, when the method is `method`.
fn inner_call<'a>(
    expr: &'a syn::Expr,
    method: &str,
) -> Option<&'a syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>> {
    let syn::Expr::MethodCall(call) = expr else {
        return None;
    };
    let syn::Expr::Field(field) = &*call.receiver else {
        return None;
    };
    let is_self_0 = matches!(&*field.base, syn::Expr::Path(p) if p.path.is_ident("self"))
        && matches!(&field.member, syn::Member::Unnamed(i) if i.index == 0);
    (is_self_0 && call.method == method).then_some(&call.args)
}

/// `{ Self(self.0.query_param("<key>", value.to_string())) }` → the key literal.
fn array_query_key(block: &syn::Block) -> Option<syn::LitStr> {
    let args = inner_call(self_call_arg(block)?, "query_param")?;
    match args.iter().collect::<Vec<_>>().as_slice() {
        [
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(key),
                ..
            }),
            syn::Expr::MethodCall(to_string),
        ] if to_string.method == "to_string"
            && matches!(&*to_string.receiver, syn::Expr::Path(p) if p.path.is_ident("value")) =>
        {
            Some(key.clone())
        }
        _ => None,
    }
}

/// `{ Self(self.0.json_body_obj(value)) }`.
fn is_json_body_matcher(block: &syn::Block) -> bool {
    self_call_arg(block)
        .and_then(|arg| inner_call(arg, "json_body_obj"))
        .is_some_and(|args| {
            args.len() == 1
                && matches!(args.first(), Some(syn::Expr::Path(p)) if p.path.is_ident("value"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(code: &str) -> syn::File {
        syn::parse_str(code).expect("test snippet parses")
    }

    const MOCKS: &str = r#"
        pub struct GetThingsWhen(::httpmock::When);
        impl GetThingsWhen {
            pub fn ids(self, value: &::std::vec::Vec<::std::string::String>) -> Self {
                Self(self.0.query_param("ids", value.to_string()))
            }
            pub fn limit(self, value: i32) -> Self {
                Self(self.0.query_param("limit", value.to_string()))
            }
            pub fn body(self, value: &types::CreateThingBody) -> Self {
                Self(self.0.json_body_obj(value))
            }
        }
        pub struct TokenWhen(::httpmock::When);
        impl TokenWhen {
            pub fn body(self, value: &types::TokenBody) -> Self {
                Self(self.0.json_body_obj(value))
            }
        }
    "#;

    fn ids() -> ArrayQueryParam {
        ArrayQueryParam {
            when: "GetThingsWhen".into(),
            key: "ids".into(),
        }
    }

    fn text(file: &syn::File) -> String {
        prettyplease::unparse(file)
    }

    #[test]
    fn array_query_setters_repeat_the_key() {
        let mut mocks = file(MOCKS);
        repeat_array_query_params(&mut mocks, &[ids()]).unwrap();
        let out = text(&mocks);
        assert!(
            out.contains(
                r#"Self(value.iter().fold(self.0, |when, v| when.query_param("ids", v)))"#
            ),
            "{out}"
        );
        // The scalar setter is left alone.
        assert!(out.contains(r#"Self(self.0.query_param("limit", value.to_string()))"#));
    }

    #[test]
    fn array_query_pass_fails_naming_what_it_did_not_find() {
        let mut mocks = file(MOCKS);
        let uid = ArrayQueryParam {
            when: "GetThingsWhen".into(),
            key: "uid".into(),
        };
        let err = repeat_array_query_params(&mut mocks, &[ids(), uid])
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected to rewrite 2"), "{err}");
        assert!(err.contains("not found: [GetThingsWhen::uid]"), "{err}");

        // A setter the spec does not call an array is a mismatch too.
        let err = repeat_array_query_params(&mut file(MOCKS), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not expected: [GetThingsWhen::ids]"), "{err}");
    }

    #[test]
    fn form_body_matchers_send_urlencoded_text_and_json_ones_stay() {
        let mut mocks = file(MOCKS);
        match_form_bodies(&mut mocks, &["TokenBody".to_owned()]).unwrap();
        let out = text(&mocks);
        assert!(
            out.contains("::serde_urlencoded::to_string(value)"),
            "{out}"
        );
        assert!(out.contains("application/x-www-form-urlencoded"), "{out}");
        assert_eq!(out.matches("json_body_obj").count(), 1, "{out}");
    }

    #[test]
    fn form_body_pass_fails_when_a_form_operation_has_no_json_matcher() {
        let mut mocks = file(MOCKS);
        let err = match_form_bodies(&mut mocks, &["TokenBody".into(), "RevokeBody".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not found: [RevokeBody]"), "{err}");
        // Already rewritten: a second run finds nothing and says so.
        match_form_bodies(&mut mocks, &["TokenBody".to_owned()]).unwrap_err();
    }

    /// progenitor's shape of a builder's `send`: the header map holds only `api-version` in the
    /// first, also a header parameter in the second.
    const SENDS: &str = r#"
        impl<'a> GetThings<'a> {
            pub async fn send(self) -> Result<ResponseValue<()>, Error<()>> {
                let url = format!("{}/things", client.baseurl);
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
                let mut request = client.client.get(url).query(&q).headers(header_map).build()?;
                client.exec(request).await
            }
        }
        impl<'a> PutThing<'a> {
            pub async fn send(self) -> Result<ResponseValue<()>, Error<()>> {
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
                header_map.append("x-thing", value.to_string().try_into()?);
                let mut request = client.client.put(url).headers(header_map).build()?;
                client.exec(request).await
            }
        }
    "#;

    /// No request is built with an `api-version` header; a map with nothing else in it is gone
    /// with its use, one with another header keeps it.
    #[test]
    fn api_version_is_dropped_where_requests_are_built() {
        let mut client = file(SENDS);
        drop_api_version(&mut client, 2).unwrap();
        let out = text(&client);
        assert!(!out.contains("api-version"), "{out}");
        let (get, put) = out.split_at(out.find("PutThing").unwrap());
        assert!(!get.contains("header_map"), "{get}");
        assert!(
            get.contains("client.client.get(url).query(&q).build()?"),
            "{get}"
        );
        assert!(put.contains(r#"header_map.append("x-thing""#), "{put}");
        assert!(put.contains(".headers(header_map)"), "{put}");
    }

    /// A `send` without the header (progenitor changed shape, or the pass ran twice) fails,
    /// naming the counts.
    #[test]
    fn api_version_pass_fails_when_it_removes_fewer_than_the_operations() {
        let mut client = file(SENDS);
        let err = drop_api_version(&mut client, 3).unwrap_err().to_string();
        assert!(
            err.contains("from 3 `send` methods, removed it from 2"),
            "{err}"
        );
        let err = drop_api_version(&mut client, 2).unwrap_err().to_string();
        assert!(err.contains("removed it from 0"), "{err}");
    }

    /// A builder and its `send` as progenitor writes them: two optional query parameters, a
    /// required one, and JSON answers decoded for success and error alike.
    const BUILDER: &str = r#"
        pub mod builder {
            pub struct GetThings<'a> {
                client: &'a super::Client,
                ids: Result<::std::vec::Vec<::std::string::String>, String>,
                limit: Result<Option<::std::num::NonZeroU64>, String>,
                sort: Result<Option<types::GetThingsSort>, String>,
            }
            impl<'a> GetThings<'a> {
                pub fn limit(mut self, value: u64) -> Self { self }
                pub async fn send(self) -> Result<ResponseValue<types::Things>, Error<types::Oops>> {
                    let Self { client, ids, limit, sort } = self;
                    let mut request = client
                        .client
                        .get(url)
                        .query(&progenitor_client::QueryParam::new("ids", &ids))
                        .query(&progenitor_client::QueryParam::new("limit", &limit))
                        .query(&progenitor_client::QueryParam::new("sort", &sort))
                        .build()?;
                    match response.status().as_u16() {
                        200u16 => ResponseValue::from_response(response).await,
                        403u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                        _ => Err(Error::UnexpectedResponse(response)),
                    }
                }
            }
        }
    "#;

    /// Optional parameters go through the helper that leaves an absent one out; a required one
    /// is added as progenitor adds it.
    #[test]
    fn optional_query_parameters_skip_absent_values() {
        let mut client = file(BUILDER);
        skip_absent_query_params(&mut client).unwrap();
        let out = text(&client).replace(char::is_whitespace, "");
        let expected = r#"crate::query::optional(crate::query::optional(client.client.get(url).query(&progenitor_client::QueryParam::new("ids",&ids)),"limit",&limit,),"sort",&sort,)"#;
        assert!(out.contains(expected), "{out}");
    }

    /// Without a `builder` module, or with no optional parameter in it, the pass fails.
    #[test]
    fn query_pass_fails_when_nothing_matches() {
        let err = skip_absent_query_params(&mut file(SENDS)).unwrap_err();
        assert!(err.to_string().contains("no `builder` module"), "{err}");
        let required_only = BUILDER
            .replace(
                "Result<Option<::std::num::NonZeroU64>, String>",
                "Result<u64, String>",
            )
            .replace(
                "Result<Option<types::GetThingsSort>, String>",
                "Result<u64, String>",
            );
        let err = skip_absent_query_params(&mut file(&required_only)).unwrap_err();
        assert!(
            err.to_string().contains("no optional query parameter"),
            "{err}"
        );
    }

    /// Every JSON answer, success or error, is decoded by the crate's own function; a shape
    /// where fewer decode than there are operations fails, and so does a streamed answer.
    #[test]
    fn json_answers_decode_through_the_crate() {
        let mut client = file(BUILDER);
        decode_read_bodies(&mut client, 1).unwrap();
        let out = text(&client).replace(char::is_whitespace, "");
        assert!(!out.contains("from_response"), "{out}");
        assert_eq!(
            out.matches("crate::body::response_value(response)").count(),
            2,
            "{out}"
        );
        let err = decode_read_bodies(&mut file(BUILDER), 3).unwrap_err();
        assert!(err.to_string().contains("replaced 2 calls"), "{err}");
        let streamed = BUILDER.replace(
            "200u16 => ResponseValue::from_response(response).await",
            "200u16 => Ok(ResponseValue::stream(response))",
        );
        let err = decode_read_bodies(&mut file(&streamed), 1).unwrap_err();
        assert!(err.to_string().contains("byte stream"), "{err}");
    }
}
