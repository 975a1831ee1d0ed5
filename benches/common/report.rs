//! `bench <name> <value> <unit> target <x>` lines, and this bench's section of docs/benchmarks.md.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::procfs::Machine;

/// What a figure is held against.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
    /// Reported for context only.
    None,
}

impl Target {
    fn text(&self) -> String {
        match self {
            Target::AtLeast(x) => format!(">={}", num(*x)),
            Target::AtMost(x) => format!("<={}", num(*x)),
            Target::None => "none".to_owned(),
        }
    }

    fn met(&self, v: f64) -> Option<bool> {
        match self {
            Target::AtLeast(x) => Some(v >= *x),
            Target::AtMost(x) => Some(v <= *x),
            Target::None => None,
        }
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e12 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub target: Target,
}

/// Collects figures and notes; prints each figure as it is added.
#[derive(Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
}

impl Report {
    /// Prints `bench <name> <value> <unit> target <x>` and keeps the figure.
    pub fn figure(&mut self, name: &str, value: f64, unit: &'static str, target: Target) {
        println!(
            "bench {name} {} {unit} target {}",
            num(value),
            target.text()
        );
        self.figures.push(Figure {
            name: name.to_owned(),
            value,
            unit,
            target,
        });
    }

    /// A line of detail for the docs (also printed, prefixed with `#`).
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        println!("# {text}");
        self.notes.push(text);
    }

    /// The markdown of the section body.
    pub fn markdown(&self, title: &str, machine: &Machine, command: &str, wall: f64) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "### {title}\n");
        let _ = writeln!(
            s,
            "Measured {} on {} CPUs (`nproc`; {}), {} MiB RAM (MemTotal), 1-minute load average {} at the start, in {:.0} s. \
             Reproduce with `{command}`.\n",
            machine.date, machine.cpus, machine.cpu_model, machine.mem_mib, machine.load, wall
        );
        let _ = writeln!(s, "| bench | value | unit | target | met |");
        let _ = writeln!(s, "| --- | ---: | --- | --- | --- |");
        for f in &self.figures {
            let met = match f.target.met(f.value) {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {met} |",
                f.name,
                num(f.value),
                f.unit,
                f.target.text().replace(">=", "≥ ").replace("<=", "≤ ")
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s);
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

/// docs/benchmarks.md in the crate.
pub fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/benchmarks.md")
}

/// Replaces what lies between `<!-- {section}:start -->` and `<!-- {section}:end -->` with `body`,
/// leaving the rest of the file alone; appends the section when the markers are missing.
pub fn write_section(section: &str, body: &str) {
    let path = docs_path();
    let start = format!("<!-- {section}:start -->");
    let end = format!("<!-- {section}:end -->");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    let block = format!("{start}\n{}\n{end}", body.trim_end());
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{block}{}", &old[..a], &old[b + end.len()..])
        }
        _ => format!("{}\n\n{block}\n", old.trim_end()),
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, new) {
        Ok(()) => println!("# wrote the {section} section of {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// p-th percentile (0..=100) of sorted milliseconds.
pub fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_ms.len() as f64).ceil() as usize;
    sorted_ms[rank.clamp(1, sorted_ms.len()) - 1]
}
