//! The svg of the benchmark report (`target/bench/report.svg`): one bar per case with the
//! Exo-OS/Linux ratio on a log scale (cases without a ratio get a text row saying why), then
//! the scaling axis's speed-up panel (`scaling::svg_panel`).

use std::fmt::Write as _;

use crate::benchreport::{case_names, ratio, BenchRun, CaseResult};
use crate::scaling::{self, Scaling};

/// XML text escaping.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Horizontal bars of log10(Exo-OS/Linux) around a line at 1.0; cases without a ratio get a
/// text row saying why.
pub fn svg(exo: &BenchRun, linux: &BenchRun, axis: &Scaling) -> String {
    const LABEL_W: f64 = 190.0;
    const PLOT_W: f64 = 560.0;
    const ROW_H: f64 = 24.0;
    const TOP: f64 = 56.0;
    let names = case_names(exo, linux);
    let ratios: Vec<Option<f64>> =
        names.iter().map(|n| ratio(exo.cases.get(n), linux.cases.get(n))).collect();
    let decades = ratios
        .iter()
        .flatten()
        .map(|r| r.log10().abs())
        .fold(1.0f64, f64::max)
        .ceil();
    let x = |r: f64| LABEL_W + PLOT_W / 2.0 + r.log10() / decades * (PLOT_W / 2.0);
    let width = LABEL_W + PLOT_W + 90.0;
    let height = TOP + ROW_H * names.len() as f64 + 40.0 + scaling::svg_height(axis);
    let bottom = TOP + ROW_H * names.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"20\" font-size=\"15\" text-anchor=\"middle\">Exo-OS / Linux, guest cycles per operation (log scale)</text>",
        LABEL_W + PLOT_W / 2.0
    );
    let _ = writeln!(
        s,
        "<text x=\"{LABEL_W}\" y=\"40\" fill=\"#2a7a2a\">&#8592; Exo-OS faster</text>\
         <text x=\"{}\" y=\"40\" text-anchor=\"end\" fill=\"#b03a2e\">Linux faster &#8594;</text>",
        LABEL_W + PLOT_W
    );
    let d = decades as i32;
    for k in -d..=d {
        let r = 10f64.powi(k);
        let tx = x(r);
        let label = if k < 0 { format!("{r:.prec$}", prec = (-k) as usize) } else { format!("{r:.0}") };
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{bottom}\" stroke=\"{}\" stroke-width=\"{}\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            if k == 0 { "black" } else { "#dddddd" },
            if k == 0 { 1.5 } else { 1.0 },
            bottom + 16.0
        );
    }
    for (i, (name, r)) in names.iter().zip(&ratios).enumerate() {
        let y = TOP + ROW_H * i as f64;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 8.0,
            y + ROW_H * 0.65,
            xml(name)
        );
        match r {
            Some(r) => {
                let (x0, x1) = (x(1.0), x(*r));
                let (left, w) = (x0.min(x1), (x1 - x0).abs().max(1.0));
                let color = if *r < 1.0 { "#3c9a3c" } else { "#c0504d" };
                let (tx, anchor) = if *r < 1.0 { (left - 4.0, "end") } else { (left + w + 4.0, "start") };
                let _ = writeln!(
                    s,
                    "<rect class=\"bar\" x=\"{left:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\
                     <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{r:.2}</text>",
                    y + 4.0,
                    ROW_H - 8.0,
                    y + ROW_H * 0.65
                );
            }
            None => {
                let why = match (exo.cases.get(name), linux.cases.get(name)) {
                    (None, _) => "not run on Exo-OS",
                    (Some(CaseResult::Unsupported(_)), _) => "unsupported on Exo-OS",
                    (_, None) => "not run on Linux",
                    _ => "unsupported on Linux",
                };
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#777777\">{why}</text>",
                    x(1.0) + 6.0,
                    y + ROW_H * 0.65
                );
            }
        }
    }
    s.push_str(&scaling::svg_panel(axis, bottom + 40.0, LABEL_W, PLOT_W));
    s.push_str("</svg>\n");
    s
}

