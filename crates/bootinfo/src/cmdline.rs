//! The kernel command line: splitting it into `key[=value]` parameters the way Linux does
//! (`lib/cmdline.c`'s `next_arg`), and interpreting the options Exo-OS knows ([`KernelOptions`]).
//!
//! Parameters are separated by whitespace; double quotes group text containing spaces
//! (`key="a b"` or `"key=a b"`), and the quotes are not part of the value. A lone `--` ends the
//! kernel's parameters: everything after it is for init ([`Cmdline::init_args`]).

mod options;

pub use options::{CrashTest, KernelOptions, LogLevel, PanicAction};

/// One command-line parameter: `key` or `key=value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// Text before the first `=` (the whole parameter if there is none).
    pub key: &'a str,
    /// Text after the first `=`, without surrounding quotes; `None` if there is no `=`.
    pub value: Option<&'a str>,
}

/// A kernel command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmdline<'a> {
    text: &'a str,
}

impl<'a> Cmdline<'a> {
    /// Wraps a command line.
    pub fn new(text: &'a str) -> Self {
        Self { text }
    }

    /// The kernel's parameters (those before a lone `--`).
    pub fn params(&self) -> Params<'a> {
        Params {
            rest: self.text,
            done: false,
        }
    }

    /// The text after a lone `--` (leading whitespace removed), meant for init; `None` if the
    /// command line has no `--`.
    pub fn init_args(&self) -> Option<&'a str> {
        let mut p = self.params();
        while p.next().is_some() {}
        p.done.then(|| p.rest.trim_start_matches(is_space))
    }
}

impl<'a> IntoIterator for Cmdline<'a> {
    type Item = Param<'a>;
    type IntoIter = Params<'a>;
    fn into_iter(self) -> Params<'a> {
        self.params()
    }
}

/// Iterator over the kernel's parameters; see [`Cmdline::params`].
#[derive(Clone, Debug)]
pub struct Params<'a> {
    rest: &'a str,
    /// True once a lone `--` was consumed; `rest` is then the init part.
    done: bool,
}

/// C `isspace`: space, tab, newline, vertical tab, form feed, carriage return.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Strips one leading `"` and, if present, one trailing `"`.
fn strip_quotes(s: &str) -> &str {
    match s.strip_prefix('"') {
        Some(inner) => inner.strip_suffix('"').unwrap_or(inner),
        None => s,
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        if self.done {
            return None;
        }
        let text = self.rest.trim_start_matches(is_space);
        if text.is_empty() {
            self.rest = text;
            return None;
        }
        // The token runs to the first whitespace outside quotes; quotes toggle anywhere.
        let mut in_quote = false;
        let mut end = text.len();
        for (i, c) in text.char_indices() {
            if c == '"' {
                in_quote = !in_quote;
            } else if is_space(c) && !in_quote {
                end = i;
                break;
            }
        }
        let (token, rest) = text.split_at(end);
        self.rest = rest;

        // A token that starts with a quote is quoted as a whole (`"key=a b"`).
        let token = strip_quotes(token);
        let param = match token.split_once('=') {
            Some((key, value)) => Param {
                key,
                value: Some(strip_quotes(value)),
            },
            None => Param {
                key: token,
                value: None,
            },
        };
        if param.key == "--" && param.value.is_none() {
            self.done = true;
            return None;
        }
        Some(param)
    }
}

#[cfg(test)]
mod tests;
