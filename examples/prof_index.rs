use std::time::Instant;
use callscope::index::analyzer::Analyzer;
use callscope::dictionary::Dictionary;
use callscope::synth::{Generator, SynthOptions};
fn main() {
    let g = Generator::new(SynthOptions::default());
    let calls: Vec<_> = (0..2000).map(|i| g.call(i)).collect();
    let a = Analyzer::new(Dictionary::load(None).unwrap());
    let n = callscope::text::Normalizer::shared();
    let t = Instant::now();
    let mut k = 0;
    for c in &calls { for s in &c.segments { k += n.normalize(&s.text).len(); } }
    println!("normalize: {:.1} us/call ({k})", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    let t = Instant::now();
    for c in &calls { for s in &c.segments { k += n.to_simplified(&s.text).len(); } }
    println!("to_simplified: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    let t = Instant::now();
    for c in &calls { let joined: String = c.segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n"); k += n.to_simplified(&joined).len(); }
    println!("to_simplified joined: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    let t = Instant::now();
    let analyzed: Vec<Vec<_>> = calls.iter().map(|c| c.segments.iter().map(|s| a.analyze(&s.text)).collect()).collect();
    println!("analyze: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    let t = Instant::now();
    for c in &analyzed { for s in c { k += a.words(s).len(); } }
    println!("words: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    let t = Instant::now();
    for c in &analyzed { for s in c { a.grams(s, |g| k += g.len()); } }
    println!("grams: {:.1} us/call", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
    let (_, fields) = callscope::index::schema::Fields::schema();
    let t = Instant::now();
    for c in &calls { let d = callscope::index::schema::document(&a, &fields, c, &[]); k += std::mem::size_of_val(&d); }
    println!("document: {:.1} us/call {k}", t.elapsed().as_secs_f64() * 1e6 / 2000.0);
}
