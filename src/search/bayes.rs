//! A multinomial naive Bayes classifier over sparse string features, trained on the
//! catalog's example intents. Search uses three: which action a request asks for (list, get,
//! create, cancel…), which resource it is about (files, agents' aliases, workflow
//! schedules…), and which tool outright. Training is counting; a posterior costs one pass
//! over the query's features' postings plus one over the classes.

use std::collections::HashMap;

/// Laplace smoothing: every feature is seen this much in every class.
const ALPHA: f32 = 0.5;

pub struct NaiveBayes {
    log_prior: Vec<f32>,
    /// Per class, `ln(alpha) - ln(total + alpha * vocabulary)`: what each feature of the
    /// query adds before its own count is known.
    unseen: Vec<f32>,
    /// Per feature, the classes it was seen in and `ln(count + alpha) - ln(alpha)`.
    seen: HashMap<String, Vec<(u32, f32)>>,
}

impl NaiveBayes {
    /// Trains on `(features, class)` samples; classes are `0..classes`. A sample's features
    /// count once each.
    pub fn train(samples: impl IntoIterator<Item = (Vec<String>, usize)>, classes: usize) -> Self {
        let mut docs = vec![0.0f32; classes];
        let mut totals = vec![0.0f32; classes];
        let mut counts: HashMap<String, HashMap<u32, f32>> = HashMap::new();
        for (features, class) in samples {
            if class >= classes {
                continue;
            }
            docs[class] += 1.0;
            for f in features {
                totals[class] += 1.0;
                *counts
                    .entry(f)
                    .or_default()
                    .entry(class as u32)
                    .or_default() += 1.0;
            }
        }
        let vocabulary = counts.len() as f32;
        let all: f32 = docs.iter().sum::<f32>().max(1.0);
        NaiveBayes {
            // A class with no sample keeps a small prior instead of minus infinity.
            log_prior: docs.iter().map(|&d| ((d + ALPHA) / all).ln()).collect(),
            unseen: totals
                .iter()
                .map(|&t| ALPHA.ln() - (t + ALPHA * vocabulary).ln())
                .collect(),
            seen: counts
                .into_iter()
                .map(|(f, by_class)| {
                    let mut list: Vec<(u32, f32)> = by_class
                        .into_iter()
                        .map(|(c, n)| (c, (n + ALPHA).ln() - ALPHA.ln()))
                        .collect();
                    list.sort_unstable_by_key(|&(c, _)| c);
                    (f, list)
                })
                .collect(),
        }
    }

    /// How many classes it tells apart.
    pub fn classes(&self) -> usize {
        self.log_prior.len()
    }

    /// The probability of each class given the features, or `None` when no feature was ever
    /// seen in training (the classifier knows nothing about this query).
    pub fn posterior(&self, features: &[String]) -> Option<Vec<f32>> {
        let known: Vec<&Vec<(u32, f32)>> =
            features.iter().filter_map(|f| self.seen.get(f)).collect();
        if known.is_empty() {
            return None;
        }
        let n = known.len() as f32;
        let mut log_p: Vec<f32> = self
            .log_prior
            .iter()
            .zip(&self.unseen)
            .map(|(prior, unseen)| prior + n * unseen)
            .collect();
        for list in known {
            for &(class, gain) in list {
                log_p[class as usize] += gain;
            }
        }
        let max = log_p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for p in &mut log_p {
            *p = (*p - max).exp();
            sum += *p;
        }
        for p in &mut log_p {
            *p /= sum;
        }
        Some(log_p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn learns_which_words_mean_which_class() {
        let nb = NaiveBayes::train(
            [
                (words("which files do i have"), 0),
                (words("show all files"), 0),
                (words("delete file f1"), 1),
                (words("remove that file"), 1),
            ],
            2,
        );
        let p = nb.posterior(&words("which files")).unwrap();
        assert!(p[0] > 0.8, "{p:?}");
        let p = nb.posterior(&words("remove f1")).unwrap();
        assert!(p[1] > 0.8, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(nb.posterior(&words("zzz")).is_none());
    }
}
