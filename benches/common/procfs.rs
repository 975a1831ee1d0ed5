//! CPU time and memory of processes from /proc, and what machine this is.

use std::process::Command;

/// Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, usually 100).
pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in seconds (0 when it cannot be read).
pub fn cpu_secs(pid: u32) -> f64 {
    cpu_of(&format!("/proc/{pid}/stat"))
}

/// utime + stime of this process, in seconds.
pub fn own_cpu_secs() -> f64 {
    cpu_of("/proc/self/stat")
}

fn cpu_of(path: &str) -> f64 {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let Some((_, rest)) = text.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clk_tck()
}

/// A `kB` line of /proc/<pid>/status (e.g. `VmHWM`), in kB.
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kb_line(&text, key)
}

fn kb_line(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The machine, as the docs record it.
pub struct Machine {
    /// `nproc`.
    pub cpus: usize,
    /// MemTotal from /proc/meminfo, in MiB.
    pub mem_mib: u64,
    /// The CPU model, when /proc/cpuinfo names it.
    pub cpu_model: String,
    /// UTC date and time of the run.
    pub date: String,
    /// The 1-minute load average when the bench started (the machine is shared).
    pub load: String,
}

/// Reads the machine and the date now.
pub fn machine() -> Machine {
    let cpus = Command::new("nproc")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mem_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| kb_line(&t, "MemTotal"))
        .unwrap_or(0)
        / 1024;
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let date = time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "unknown date".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    Machine {
        cpus,
        mem_mib,
        cpu_model,
        date,
        load,
    }
}

/// CPU seconds of a set of processes between two points in time.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSplit {
    /// `serve`.
    pub serve: f64,
    /// The SCIM peer (or, for the pages bench, the load generator).
    pub other: f64,
    /// Wall-clock seconds.
    pub wall: f64,
}

impl CpuSplit {
    /// `serve 1.23 s (61% of one core), peer 0.45 s (22%)`.
    pub fn describe(&self, other: &str) -> String {
        let pct = |s: f64| {
            if self.wall > 0.0 {
                100.0 * s / self.wall
            } else {
                0.0
            }
        };
        format!(
            "serve {:.2} s CPU ({:.0}% of one core), {other} {:.2} s CPU ({:.0}% of one core), over {:.2} s",
            self.serve,
            pct(self.serve),
            self.other,
            pct(self.other),
            self.wall
        )
    }
}
