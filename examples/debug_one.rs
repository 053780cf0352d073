use callscope::audio::features::{FrameAnalyzer, HOP, WINDOW};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let from: f64 = std::env::args().nth(2).unwrap().parse().unwrap();
    let d = callscope::audio::decode(std::path::Path::new(&path)).unwrap();
    println!("{:?} {}", d.info, d.duration());
    let ch = &d.channels[0];
    let mut a = FrameAnalyzer::new();
    let start = (from * 100.0) as usize;
    for i in (start..start + 120).step_by(3) {
        if i * HOP + WINDOW > ch.len() { break; }
        let f = a.analyze(&ch[i * HOP..i * HOP + WINDOW], true);
        print!("{:.2}:{:.0}/{:.2} ", (i * HOP + 256) as f64 / 16000.0, f.energy_db, f.periodicity);
    }
    println!();
}
