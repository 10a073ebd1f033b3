//! The shape of `src/`, checked: no import cycles among its files, the message vocabulary imports
//! no actor, and actors never import each other (they talk through the vocabulary).
//!
//! Every file of the library is parsed with `syn`; every path that names a module of this crate
//! (`use crate::…`, `super::…`, a child module, also inside macro arguments) is an edge from the
//! file to the file that holds that module. `src/bin/` is left out: binaries use the library from
//! outside, as `chatd::…`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// The library's files by module path (`server::session::state`), the crate root being `""`.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        if relative.starts_with("bin") {
            continue;
        }
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let last = parts.pop().unwrap();
        match last.as_str() {
            "lib.rs" | "mod.rs" => {}
            name => parts.push(name.trim_end_matches(".rs").to_string()),
        }
        modules.insert(parts.join("::"), file);
    }
    modules
}

/// Collects the crate modules one file refers to.
struct Refs<'a> {
    modules: &'a BTreeMap<String, PathBuf>,
    /// The file's module, then any inline modules (`mod tests { … }`) being visited.
    scope: Vec<String>,
    /// Names brought in by `use` that stand for a module (`use crate::server::cluster;`).
    aliases: BTreeMap<String, Vec<String>>,
    found: BTreeSet<String>,
}

impl Refs<'_> {
    fn join(base: &[String], rest: &[String]) -> Vec<String> {
        base.iter()
            .filter(|s| !s.is_empty())
            .chain(rest)
            .cloned()
            .collect()
    }

    /// The segments of the file's own module (inline modules excluded).
    fn file_module(&self) -> Vec<String> {
        self.scope[0]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Resolves a path to absolute segments, records the longest known module prefix, and
    /// returns the absolute path (`None` for a path outside this crate).
    fn path(&mut self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut current: Vec<String> = self.file_module();
        current.extend(self.scope[1..].iter().cloned());
        let absolute = match first.as_str() {
            "crate" => segments[1..].to_vec(),
            "self" => Self::join(&current, &segments[1..]),
            "super" => {
                let mut base = current.clone();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Self::join(&base, rest)
            }
            _ => match self.aliases.get(first) {
                Some(module) => Self::join(module, &segments[1..]),
                None => {
                    let child = Self::join(&current, &segments[..1]).join("::");
                    if !self.modules.contains_key(&child) {
                        return None;
                    }
                    Self::join(&current, segments)
                }
            },
        };
        // Inline modules are part of their file.
        let file = self.file_module();
        for len in (0..=absolute.len()).rev() {
            let candidate = absolute[..len].join("::");
            if self.modules.contains_key(&candidate) {
                if candidate != file.join("::") && !candidate.is_empty() {
                    self.found.insert(candidate);
                }
                break;
            }
        }
        Some(absolute)
    }

    /// Records `name` as standing for `path` when `path` is a module.
    fn alias(&mut self, name: String, path: Option<Vec<String>>) {
        if let Some(path) = path
            && self.modules.contains_key(&path.join("::"))
        {
            self.aliases.insert(name, path);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                let name = path.last().cloned().unwrap_or_default();
                let resolved = self.path(&path);
                self.alias(name, resolved);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                let resolved = self.path(&path);
                self.alias(r.rename.to_string(), resolved);
            }
            syn::UseTree::Glob(_) => {
                let path = prefix.clone();
                self.path(&path);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// Paths inside macro arguments (`call_t!(…)`, `matches!(…)`) are only tokens to syn.
    fn tokens(&mut self, tokens: TokenStream) {
        let flat: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < flat.len() {
            if let TokenTree::Group(g) = &flat[i] {
                self.tokens(g.stream());
                i += 1;
                continue;
            }
            let TokenTree::Ident(ident) = &flat[i] else {
                i += 1;
                continue;
            };
            let mut path = vec![ident.to_string()];
            let mut j = i + 1;
            while j + 2 < flat.len()
                && matches!(&flat[j], TokenTree::Punct(p) if p.as_char() == ':')
                && matches!(&flat[j + 1], TokenTree::Punct(p) if p.as_char() == ':')
            {
                match &flat[j + 2] {
                    TokenTree::Ident(next) => path.push(next.to_string()),
                    _ => break,
                }
                j += 3;
            }
            if path.len() > 1 {
                self.path(&path);
            }
            i = j.max(i + 1);
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.path(&segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.scope.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.scope.pop();
        }
    }
}

/// Module → the modules it refers to, and the modules that define an actor (`impl Actor for`).
struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
    actors: BTreeSet<String>,
}

fn graph() -> Graph {
    graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn graph_of(src: &Path) -> Graph {
    let modules = modules(src);
    let mut edges = BTreeMap::new();
    let mut actors = BTreeSet::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut refs = Refs {
            modules: &modules,
            scope: vec![module.clone()],
            aliases: BTreeMap::new(),
            found: BTreeSet::new(),
        };
        refs.visit_file(&ast);
        let defines_actor = ast.items.iter().any(|item| {
            matches!(item, syn::Item::Impl(i) if i.trait_.as_ref().is_some_and(|(_, path, _)| {
                path.segments.last().is_some_and(|s| s.ident == "Actor")
            }))
        });
        if defines_actor {
            actors.insert(module.clone());
        }
        edges.insert(module.clone(), refs.found);
    }
    Graph { edges, actors }
}

/// A cycle through `start`, if any, as the list of modules on it.
fn cycle_from(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    // Breadth-first from `start`'s successors back to `start`, keeping the way.
    let mut previous: BTreeMap<String, String> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for next in edges.get(start).into_iter().flatten() {
        previous.insert(next.clone(), start.to_string());
        queue.push_back(next.clone());
    }
    while let Some(node) = queue.pop_front() {
        if node == start {
            let mut way = vec![start.to_string()];
            let mut at = previous[start].clone();
            while at != start {
                way.push(at.clone());
                at = previous[&at].clone();
            }
            way.push(start.to_string());
            way.reverse();
            return Some(way);
        }
        for next in edges.get(&node).into_iter().flatten() {
            if !previous.contains_key(next) {
                previous.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

#[test]
fn no_import_cycles() {
    let graph = graph();
    let cycles: BTreeSet<String> = graph
        .edges
        .keys()
        .filter_map(|m| cycle_from(&graph.edges, m))
        .map(|way| way.join(" -> "))
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles among the files of src/:\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The module of the actor a module belongs to: a file inside an actor's folder
/// (`server::session::commands::join`) belongs to that actor (`server::session`).
fn owner(graph: &Graph, module: &str) -> Option<String> {
    graph
        .actors
        .iter()
        .filter(|a| module == a.as_str() || module.starts_with(&format!("{a}::")))
        .max_by_key(|a| a.len())
        .cloned()
}

#[test]
fn the_vocabulary_imports_no_actor() {
    let graph = graph();
    let vocabulary: Vec<&String> = graph
        .edges
        .keys()
        .filter(|m| m.starts_with("server::msg"))
        .collect();
    assert!(vocabulary.len() >= 8, "server::msg modules: {vocabulary:?}");
    let bad: Vec<String> = vocabulary
        .iter()
        .flat_map(|m| {
            graph.edges[*m]
                .iter()
                .filter(|t| owner(&graph, t).is_some())
                .map(move |t| format!("{m} -> {t}"))
        })
        .collect();
    assert!(bad.is_empty(), "the vocabulary imports actors: {bad:?}");
}

/// The only actors that may name another actor's module: a supervisor spawning its children.
const SUPERVISES: &[(&str, &str)] = &[
    ("server::node", "server::relay"),
    ("server::node", "server::registry"),
    ("server::node", "server::room_supervisor"),
    ("server::room_supervisor", "server::room"),
];

#[test]
fn actors_never_import_each_other() {
    let graph = graph();
    assert!(graph.actors.len() >= 6, "actors found: {:?}", graph.actors);
    let mut bad = Vec::new();
    for (module, targets) in &graph.edges {
        let Some(from) = owner(&graph, module) else {
            continue;
        };
        for target in targets {
            if let Some(to) = owner(&graph, target)
                && to != from
                && !SUPERVISES.contains(&(from.as_str(), to.as_str()))
            {
                bad.push(format!("{module} -> {target}"));
            }
        }
    }
    assert!(bad.is_empty(), "actor modules import each other: {bad:?}");
}

#[test]
fn the_check_finds_a_planted_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("outer")).unwrap();
    let files = [
        ("lib.rs", "pub mod outer;\npub mod c;\n"),
        ("outer/mod.rs", "pub mod a;\npub mod b;\n"),
        (
            "outer/a.rs",
            "use crate::outer::b;\nfn f() { b::g(); }\n#[cfg(test)]\nmod tests { use super::*; }\n",
        ),
        (
            "outer/b.rs",
            "pub fn g() { ractor::call_t!(super::a::X, 1); }\n",
        ),
        ("c.rs", "use crate::outer::a::Thing;\n"),
    ];
    for (path, text) in files {
        std::fs::write(src.join(path), text).unwrap();
    }
    let graph = graph_of(src);
    assert_eq!(
        graph.edges["outer::a"],
        BTreeSet::from(["outer::b".to_string()])
    );
    assert_eq!(graph.edges["c"], BTreeSet::from(["outer::a".to_string()]));
    let cycle = cycle_from(&graph.edges, "outer::a").expect("the cycle through a macro call");
    assert_eq!(cycle, ["outer::a", "outer::b", "outer::a"]);
    assert_eq!(cycle_from(&graph.edges, "c"), None);
}
