//! Goal tables of the benchmark report: a list of cases, each with what one operation is and
//! its goal (at most this Exo-OS/Linux ratio of guest instructions), rendered as a markdown
//! table (Linux, Exo-OS, ratio, goal, met) and as the JSON array of `report.json`. The
//! sockets (`benchnet.rs`) and storage (`benchdisk.rs`) sections are such tables.

use std::fmt::Write as _;

use crate::benchreport::{md_cell, ratio, BenchRun};

/// One row: the case, what one operation is, and the goal (at most this Exo-OS/Linux ratio;
/// `None`: informational).
pub struct Row {
    pub case: &'static str,
    pub what: &'static str,
    pub goal: Option<f64>,
}

/// Whether a row's goal is met: None without a goal or without both figures.
pub fn met(row: &Row, exo: &BenchRun, linux: &BenchRun) -> Option<bool> {
    let r = ratio(exo.cases.get(row.case), linux.cases.get(row.case))?;
    Some(r <= row.goal?)
}

/// The markdown section: `heading` (title and explanation, ending with a blank line) and the
/// table; empty when no case of `rows` ran on either kernel.
pub fn markdown(heading: &str, rows: &[Row], exo: &BenchRun, linux: &BenchRun) -> String {
    let ran = |r: &BenchRun| rows.iter().any(|row| r.cases.contains_key(row.case));
    if !ran(exo) && !ran(linux) {
        return String::new();
    }
    let mut md = String::from(heading);
    md.push_str("| case | what | Linux | Exo-OS | Exo-OS/Linux | goal | met |\n|---|---|---:|---:|---:|---|---|\n");
    for row in rows {
        let (e, l) = (exo.cases.get(row.case), linux.cases.get(row.case));
        let r = ratio(e, l).map_or("-".to_string(), |r| format!("{r:.2}"));
        let goal = row.goal.map_or("informational".to_string(), |g| format!("≤ {g:.2}"));
        let met = match met(row, exo, linux) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let _ = writeln!(md, "| {} | {} | {} | {} | {r} | {goal} | {met} |", row.case, row.what, md_cell(l), md_cell(e));
    }
    md
}

/// The JSON array of the goals: `[{"name": .., "goal_ratio": .. | null, "met": true | false | null}]`.
pub fn json(rows: &[Row], exo: &BenchRun, linux: &BenchRun) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|row| {
            let goal = row.goal.map_or("null".to_string(), |g| format!("{g:.2}"));
            let met = met(row, exo, linux).map_or("null".to_string(), |m| m.to_string());
            format!("    {{\"name\": \"{}\", \"goal_ratio\": {goal}, \"met\": {met}}}", row.case)
        })
        .collect();
    format!("[\n{}\n  ]", rows.join(",\n"))
}
