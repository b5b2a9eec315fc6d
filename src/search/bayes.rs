//! A multinomial naive Bayes classifier over sparse string features, trained on the
//! catalog's example intents. Search uses three: which action a request asks for (list, get,
//! create, cancel…), which resource it is about (files, agents' aliases, workflow
//! schedules…), and which tool outright. Training is counting; a posterior costs one pass
//! over the query's features' postings plus one over the classes.

/// Laplace smoothing: every feature is seen this much in every class.
const ALPHA: f32 = 0.5;

pub struct NaiveBayes {
    log_prior: Vec<f32>,
    /// Per class, `ln(alpha) - ln(total + alpha * vocabulary)`: what each feature of the
    /// query adds before its own count is known.
    unseen: Vec<f32>,
    /// Per feature id, the classes it was seen in and `ln(count + alpha) - ln(alpha)`.
    seen: Vec<Vec<(u32, f32)>>,
}

impl NaiveBayes {
    /// Trains on `(feature ids, class)` samples; classes are `0..classes`, feature ids
    /// `0..features`. A sample's features count once each.
    pub fn train<'a>(
        samples: impl IntoIterator<Item = (&'a [u32], usize)>,
        classes: usize,
        features: usize,
    ) -> Self {
        let mut docs = vec![0.0f32; classes];
        let mut totals = vec![0.0f32; classes];
        // Per feature, (class, count) pairs: a feature is in few classes.
        let mut counts: Vec<Vec<(u32, f32)>> = vec![Vec::new(); features];
        for (ids, class) in samples {
            if class >= classes {
                continue;
            }
            docs[class] += 1.0;
            for &f in ids {
                let Some(by_class) = counts.get_mut(f as usize) else {
                    continue;
                };
                totals[class] += 1.0;
                match by_class.iter_mut().find(|(c, _)| *c == class as u32) {
                    Some((_, n)) => *n += 1.0,
                    None => by_class.push((class as u32, 1.0)),
                }
            }
        }
        let vocabulary = counts.iter().filter(|c| !c.is_empty()).count() as f32;
        let all: f32 = docs.iter().sum::<f32>().max(1.0);
        for by_class in &mut counts {
            for (_, n) in by_class.iter_mut() {
                *n = (*n + ALPHA).ln() - ALPHA.ln();
            }
            by_class.sort_unstable_by_key(|&(c, _)| c);
            by_class.shrink_to_fit();
        }
        NaiveBayes {
            // A class with no sample keeps a small prior instead of minus infinity.
            log_prior: docs.iter().map(|&d| ((d + ALPHA) / all).ln()).collect(),
            unseen: totals
                .iter()
                .map(|&t| ALPHA.ln() - (t + ALPHA * vocabulary).ln())
                .collect(),
            seen: counts,
        }
    }

    /// How many classes it tells apart.
    pub fn classes(&self) -> usize {
        self.log_prior.len()
    }

    /// The probability of each class given the features, or `None` when no feature was ever
    /// seen in training (the classifier knows nothing about this query).
    pub fn posterior(&self, features: &[u32]) -> Option<Vec<f32>> {
        let known: Vec<&Vec<(u32, f32)>> = features
            .iter()
            .filter_map(|&f| self.seen.get(f as usize))
            .filter(|list| !list.is_empty())
            .collect();
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
        softmax(&mut log_p);
        Some(log_p)
    }

    /// Per feature id, the classes it was seen in and its weight for each,
    /// `ln(1 + count / alpha)`, sorted by class: where the logistic regression starts.
    pub fn weights(&self) -> &[Vec<(u32, f32)>] {
        &self.seen
    }
}

/// Log-scores to probabilities, in place.
pub fn softmax(p: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for &x in p.iter() {
        if x > max {
            max = x;
        }
    }
    let mut sum = 0.0;
    for x in p.iter_mut() {
        // e^-20 is far below anything that changes a ranking, and exp is costly.
        *x = if *x - max > -20.0 {
            (*x - max).exp()
        } else {
            0.0
        };
        sum += *x;
    }
    for x in p.iter_mut() {
        *x /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each word's id in a vocabulary grown as words are met.
    fn words(vocabulary: &mut Vec<String>, s: &str) -> Vec<u32> {
        s.split(' ')
            .map(|w| match vocabulary.iter().position(|v| v == w) {
                Some(i) => i as u32,
                None => {
                    vocabulary.push(w.to_string());
                    vocabulary.len() as u32 - 1
                }
            })
            .collect()
    }

    #[test]
    fn learns_which_words_mean_which_class() {
        let mut v = Vec::new();
        let samples = [
            (words(&mut v, "which files do i have"), 0),
            (words(&mut v, "show all files"), 0),
            (words(&mut v, "delete file f1"), 1),
            (words(&mut v, "remove that file"), 1),
        ];
        let nb = NaiveBayes::train(samples.iter().map(|(w, c)| (w.as_slice(), *c)), 2, v.len());
        let p = nb.posterior(&words(&mut v, "which files")).unwrap();
        assert!(p[0] > 0.8, "{p:?}");
        let p = nb.posterior(&words(&mut v, "remove f1")).unwrap();
        assert!(p[1] > 0.8, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(nb.posterior(&words(&mut v, "zzz")).is_none());
    }
}
