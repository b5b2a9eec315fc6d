//! A multinomial logistic regression over the same sparse features as the naive Bayes
//! classifiers, trained on the same example intents to tell the tools apart. Naive Bayes
//! counts every feature as independent evidence, so a word, its pairs and its raw form vote
//! three times; this model weighs them against each other by how well they separate the
//! tools. It keeps a weight only where a feature was seen with a class in training (about
//! 130,000 pairs for the shipped catalog, not features × classes), starts from naive Bayes's
//! weights scaled down, and trains by AdaGrad on the first search.

/// At most this many passes over the samples; after the first, only the unsettled ones.
const EPOCHS: usize = 10;
/// A sample its class already has this probability for is left alone, in this pass and the
/// next ones: after the first pass only the few samples still misread are revisited, which
/// keeps training near 0.1 s.
const SETTLED: f32 = 0.95;
/// AdaGrad's base step.
const STEP: f32 = 0.5;
/// AdaGrad's squared-gradient sums start here, not at zero: from zero, a weight's first step
/// is a full `STEP` however small its gradient, and most gradients are tiny (the
/// probability of a tool the sample is not about).
const INITIAL_SQUARES: f32 = 0.1;
/// The weights start at this share of naive Bayes's (`ln(1 + count / alpha)`): at
/// full strength every training sample is already settled and nothing is learned; from
/// zero, ten passes are not enough. Chosen by 5-fold cross-validation of the ranker on the
/// blind dev half (0.2, 0.3 and 0.5 within 0.004 of each other).
const INIT_SCALE: f32 = 0.3;
/// Gradients smaller than this are skipped: most of a sample's classes have a probability
/// near zero, and their updates were most of the training time for no change in ranking.
const NEGLIGIBLE: f32 = 1e-3;

use super::bayes::{NaiveBayes, softmax};

pub struct Logistic {
    bias: Vec<f32>,
    /// Feature `f`'s classes and weights are `classes[starts[f]..starts[f + 1]]` and the same
    /// range of `weights`: one flat array, walked in order, rather than a list per feature.
    starts: Vec<u32>,
    classes: Vec<u16>,
    weights: Vec<f32>,
}

impl Logistic {
    /// Trains on `(feature ids, class)` samples, starting from `start`: naive Bayes trained
    /// on the same samples, whose (feature, class) pairs are the ones this model weighs.
    /// Deterministic: the samples are visited in a fixed shuffled order.
    pub fn train(samples: &[(&[u32], usize)], start: &NaiveBayes) -> Self {
        let classes = start.classes();
        let mut starts = Vec::with_capacity(start.weights().len() + 1);
        starts.push(0u32);
        let (mut flat, mut weights) = (Vec::new(), Vec::new());
        // A share of naive Bayes's weights (the log of how much more often the feature is
        // seen with the class than smoothing alone): training then corrects them, and most
        // gradients are negligible from the start.
        for list in start.weights() {
            for &(c, w) in list {
                flat.push(c as u16);
                weights.push(INIT_SCALE * w);
            }
            starts.push(flat.len() as u32);
        }
        let mut model = Logistic {
            bias: vec![0.0; classes],
            starts,
            weights,
            classes: flat,
        };
        // AdaGrad's squared-gradient sums, laid out as the weights are.
        let mut squares = vec![INITIAL_SQUARES; model.weights.len()];
        let mut bias_squares = vec![INITIAL_SQUARES; classes];
        let mut p = vec![0.0f32; classes];
        // Slices, not Vecs, in the loops: at opt-level "z" a Vec's index is a call.
        let (p, squares, bias_squares) = (
            p.as_mut_slice(),
            squares.as_mut_slice(),
            bias_squares.as_mut_slice(),
        );
        let (starts, classes_of) = (model.starts.as_slice(), model.classes.as_slice());
        let (bias, weights) = (model.bias.as_mut_slice(), model.weights.as_mut_slice());
        let mut order = visiting_order(samples.len());
        for _ in 0..EPOCHS {
            let mut unsettled = Vec::new();
            for &s in &order {
                let (ids, class) = samples[s];
                if class >= classes {
                    continue;
                }
                probabilities(bias, starts, classes_of, weights, ids, p);
                if p[class] >= SETTLED {
                    continue;
                }
                unsettled.push(s);
                // The gradient of the log loss for class c is p_c - [c = class].
                p[class] -= 1.0;
                for ((b, sq), &g) in bias.iter_mut().zip(bias_squares.iter_mut()).zip(p.iter()) {
                    if g.abs() >= NEGLIGIBLE {
                        *sq += g * g;
                        *b -= STEP * g / sq.sqrt();
                    }
                }
                for &f in ids {
                    let range = span(starts, f);
                    let pairs = classes_of[range.clone()]
                        .iter()
                        .zip(&mut weights[range.clone()]);
                    for ((&c, w), sq) in pairs.zip(&mut squares[range]) {
                        let g = p[c as usize];
                        if g.abs() >= NEGLIGIBLE {
                            *sq += g * g;
                            *w -= STEP * g / sq.sqrt();
                        }
                    }
                }
            }
            order = unsettled;
        }
        model
    }

    /// The probability of each class given the features.
    pub fn posterior(&self, features: &[u32]) -> Vec<f32> {
        let mut p = vec![0.0; self.bias.len()];
        probabilities(
            &self.bias,
            &self.starts,
            &self.classes,
            &self.weights,
            features,
            &mut p,
        );
        p
    }
}

/// Where feature `f`'s classes and weights are; empty for a feature never seen.
fn span(starts: &[u32], f: u32) -> std::ops::Range<usize> {
    let f = f as usize;
    match (starts.get(f), starts.get(f + 1)) {
        (Some(&a), Some(&b)) => a as usize..b as usize,
        _ => 0..0,
    }
}

/// The probability of each class for `features` into `p`. On slices, not the model, so
/// training can hold the weights mutably beside it.
fn probabilities(
    bias: &[f32],
    starts: &[u32],
    classes: &[u16],
    weights: &[f32],
    features: &[u32],
    p: &mut [f32],
) {
    p.copy_from_slice(bias);
    for &f in features {
        let range = span(starts, f);
        for (&c, &w) in classes[range.clone()].iter().zip(&weights[range]) {
            p[c as usize] += w;
        }
    }
    softmax(p);
}

/// `0..n` in a fixed scrambled order (a multiplicative step coprime with `n`), so SGD does not
/// see one tool's examples in a row.
fn visiting_order(n: usize) -> Vec<usize> {
    let step = (1..)
        .map(|k| 7919 * k % n.max(1) + n / 3)
        .find(|&s| gcd(s, n) == 1)
        .unwrap_or(1);
    (0..n).map(|i| i * step % n.max(1)).collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighs_features_by_how_well_they_separate() {
        // Feature 0 is in every sample; 1 and 2 tell the classes apart.
        let samples: Vec<(Vec<u32>, usize)> = (0..20)
            .map(|i| {
                if i % 2 == 0 {
                    (vec![0, 1], 0)
                } else {
                    (vec![0, 2], 1)
                }
            })
            .collect();
        let borrowed: Vec<(&[u32], usize)> =
            samples.iter().map(|(f, c)| (f.as_slice(), *c)).collect();
        let start = NaiveBayes::train(borrowed.iter().copied(), 2, 3);
        let model = Logistic::train(&borrowed, &start);
        assert!(model.posterior(&[0, 1])[0] > 0.9);
        assert!(model.posterior(&[0, 2])[1] > 0.9);
        let even = model.posterior(&[0]);
        assert!((even[0] - 0.5).abs() < 0.1, "{even:?}");
        assert!((even.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn visits_every_sample_once() {
        for n in [1, 2, 10, 15_636] {
            let mut order = visiting_order(n);
            order.sort_unstable();
            assert_eq!(order, (0..n).collect::<Vec<_>>());
        }
    }
}
