"""ganjax's MNIST recipe, the default experiment (about 20 minutes of a 2-core CPU).

Commands:
    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py --workdir=runs/mnist_dcgan
    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py:infogan

The arg is ``<clusters|infogan>[,smoke]``: ``clusters``, the default since commit
55b72c5 (2026-11-29), and ``infogan``, the default before. Both are the DCGAN-28 of
TensorFlow's DCGAN tutorial (``mnist_dcgan_tutorial.py``, kept as the tutorial has it)
made faster, trained harder and conditioned on a code that no label enters:

- half its widths (``base_features`` 32: G 128 → 64 → 32 channels, D 32 → 64), so a
  step costs a third as much and three times as many steps fit;
- no dropout in D; Adam at 1e-3 (β1 0.5) for both nets instead of 2e-4; an EMA of G
  with decay 0.999;
- ``clusters``: G and D are conditioned on the 50 k-means clusters of the training
  digits' pixels (``data.clusters``, ``ganjax.data.clusters``), as Lucic et al. 2019 and
  Liu et al. 2020 condition on clusters of learned features: G reads [z, embed(cluster)],
  D is a projection discriminator on the cluster (Miyato & Koyama 2018), and G draws
  each cluster as often as the data holds it (``code_prior.rule='data'``, as Liu et al.
  draw theirs; the evaluation draws them so too). The clusters are of the pixels alone
  (80 % of a cluster's digits are of its most common class, on average over the
  digits). The idea: a part of a class that k-means sets apart (bold digits, crossed 7s)
  is asked for on its own, where an unconditional D lets G neglect it. The sample grids
  have a row per cluster. D has no normalisation; it is regularised instead by R1 and
  R2 (Mescheder et al. 2018; R3GAN, Huang et al. 2024: the squared norm of D's
  gradient at the real and at the generated digits, each weighted γ/2 = 0.05, lazily,
  on every 4th D update at 4 times the weight, as StyleGAN2 does).
- ``infogan``: an InfoGAN code (Chen et al. 2016): G draws one of 10 codes uniformly
  besides z, and D's auxiliary head learns to read the code back from G's digits, as G
  learns to make it readable (``loss.auxiliary_on_real=False``, λ =
  ``loss.auxiliary_weight`` = 1). The codes come to stand for digit classes of their
  own accord (the sample grids have a row per code). D has BatchNorm after its second
  convolution, as Radford et al.'s discriminators do.

Non-saturating loss, batch 64, 12,000 steps; every MNIST metric of both generators
(10,000 samples each) once, at the end.

Measured: the README's first command in a fresh clone and venv at commit e1a3c04 on a
2-core AMD EPYC Zen 4 (family 25 model 17, AVX-512; ``lscpu``), 5,000 embedded digits:
22.3 min including the install, 21.2 for the command (``runtime_s`` 1269; about 650
images/s). EMA generator at 12,000 steps: MNIST score 9.34 (real digits 9.54), FID 4.3,
precision 0.90, recall 0.81, coverage of each class 0.88–0.95 (mean 0.91; 8 of the 10
classes at 0.9 or more, the lowest 2 at 0.878 and 4 at 0.888), every class 8.9–11.0 %
of the samples; raw generator 9.22 / 4.2, coverage 0.86–0.93 (mean 0.89). The same
config with D's BatchNorm and without R1 and R2 (``clusters`` from 55b72c5 to e1a3c04;
``--config.model.discriminator.batch_norm=True --config.loss.penalties.r1.weight=0
--config.loss.penalties.r2.weight=0``), the same check on the same CPU: 9.38 / 9.0,
recall 0.61, coverage 0.65–0.93 (mean 0.81), class 4 at 7.0 % of the samples and 9 at
14.5 %. So R1 and R2 in place of D's BatchNorm raised recall from 0.61 to 0.81, the
lowest class's coverage from 0.65 to 0.88 and halved FID, at a score 0.04 lower; on
CPU they cost a step half as much again (lazy penalties are computed on every update
there: ``docs/performance.md``). With the InfoGAN code the same change trained worse
(below: at 7,000 steps, 8.69 / 14.7, coverage 0.57–0.90, class shares 7.1–15.8 %): G
reads a code, not the data's clusters, and the penalties loosened the code's hold on
the classes; a projection D on the clusters keeps every cluster's share as the data
has it. Seed 1 (``--config.seed=1``, a fresh workdir, the same CPU; 20.8 min): 9.35 /
4.4, recall 0.79, coverage 0.88–0.92 (mean 0.90; 6 of the 10 classes at 0.9 or more,
the lowest 7 at 0.878 and 4 at 0.880), class shares 8.8–11.0 %; raw 9.21 / 6.2,
coverage 0.79–0.89.

The targets we set: score ≥ 9.0 and FID ≤ 16.4 (a quarter of the tutorial setup's
65.5) are reached; every class's coverage ≥ 0.9 is reached by 8 of the 10 classes, the
other two 0.012 and 0.022 short (seed 1: 6 of 10, the lowest 0.022 short; a perfect
generator would score 0.963 in expectation under this protocol: see
``docs/benchmarks.md``); ≤ 10 minutes is not: 21.2 min on Zen
4 (``infogan``, without the penalties, took 15.6 there, 7.6 on Zen 5 and 20–21 on Zen 3;
``--config.total_steps`` is the knob).

Clusters against InfoGAN, both with D's BatchNorm and no R1 or R2 (``clusters`` as it
was before e1a3c04: the overrides above added to its commands below reproduce them),
over three seeds on one CPU (a 2-core AMD EPYC Zen 3, family 25 model 1, AVX2; fresh
workdirs, 20–24 min each; EMA generator: MNIST score / FID / recall / coverage of each
class, lowest–highest (mean)):

- ``clusters`` (``python -m experiments.mnist
  --config=experiments/configs/mnist_dcgan.py:clusters --config.code_prior.rule=data
  --config.eval.every_steps=4000``, the variant before it was the default, evaluated
  every 4,000 steps besides; then ``--config.seed=1`` and ``--config.seed=2``): 9.43 /
  7.7 / 0.64 / 0.71–0.92 (0.84); 9.48 / 7.3 / 0.59 / 0.68–0.91 (0.82); 9.44 / 7.5 / 0.61
  / 0.75–0.91 (0.83).
- ``infogan`` (the README's first command at e987cca, when it was the default; then
  ``--config.seed=1`` and ``--config.seed=2``): 9.72 / 8.7 / 0.64 / 0.74–0.90 (0.80);
  9.68 / 10.7 / 0.50 / 0.59–0.84 (0.73); 9.64 / 11.5 / 0.60 / 0.67–0.89 (0.77).

The clusters give the better FID (7.5 against 10.3 on average) and mean coverage (0.83
against 0.77) in every seed, the better recall (0.61 / 0.58) and lowest class (0.71 /
0.67) on average, and the lower MNIST score (9.45 / 9.68) in every seed. The coverage
of every class is the one target neither meets, and the clusters come nearer it; both
are above the score and FID targets. The lowest class differs by about one standard
error of its difference: the evidence is three seeds, not more, and a fourth pair, on
an AVX-512 CPU (below), has ``infogan`` ahead on the lowest class and FID: over the four
pairs ``clusters`` keeps the better mean coverage (0.825 / 0.770, 4 of 4) and FID (7.9 /
9.8, 3 of 4), the two are level on the lowest class (0.70 / 0.675, 2 of 4), and
``infogan`` keeps the better score (9.70 / 9.43, 4 of 4).

The fourth pair, on a 2-core AMD EPYC Zen 4 (family 25 model 17, AVX-512): ``clusters``
with BatchNorm, the README's first command in a fresh clone and venv at 55b72c5 (15.1
min including the install, 14.1 for the command, ``runtime_s`` 844, about 1,000
images/s): 9.38 / 9.0 / 0.61 / 0.65–0.93 (0.81), lowest class 4 (7.0 % of the samples,
9 14.5 %), then 7 at 0.68; raw generator 9.03 / 16.3, coverage 0.44–0.92. ``infogan``
(``python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py:infogan``, a
fresh workdir; 15.6 min): 9.77 / 8.1 / 0.61 / 0.70–0.88 (0.79), every number as on Zen 5
below: Zen 4 and Zen 5 round alike, Zen 3 does not.

``infogan`` as the default, the README's first command in a fresh clone and venv:

- on a 2-core AMD EPYC Zen 5 (family 26 model 2): 8 min 26 s including the install,
  7.6 min for the command itself (``results.json``: ``runtime_s`` 458; 508 in a run
  beside light work; about 1,600 images/s). EMA generator at 12,000 steps: MNIST score
  9.77 (real digits 9.54), FID 8.1, every class 9.6–10.5 % of the samples, coverage of
  each class 0.70–0.88, mean 0.79 (precision 0.90, recall 0.61); raw generator 9.65,
  FID 5.6. Seed 1 (``--config.seed=1``): 9.78 / 8.6, coverage 0.68–0.88, mean 0.76. On a
  2-core AMD EPYC Zen 4, where it trained 7,000 steps in 8.5 minutes, 12,000 took 15.6
  (above): there ``--config.total_steps=7000`` is the 10-minute run (9.71 / 10.9,
  coverage 0.61–0.84).
- on a 2-core AMD EPYC Zen 3 (family 25 model 1, AVX2): 23.6 minutes, 21.5 for the
  command (``runtime_s`` 1290, about 650 images/s): 9.72 / 8.7, coverage 0.74–0.90 (mean
  0.80): the same recipe, rounded differently by another CPU. The tutorial setup, the
  default before, ended at 6.84 and FID 59.6 in 15 minutes.

``clusters`` further: at 4,000 and 8,000 steps (seed 0, EMA; score / FID / recall /
lowest / mean coverage): 9.36 / 9.7 / 0.66 / 0.71 / 0.82 and 9.46 / 6.9 / 0.67 / 0.75 /
0.84 (``infogan`` at the same steps: 8.67 / 18.8 / 0.59 / 0.50 / 0.65 and 9.56 / 9.8 /
0.59 / 0.68 / 0.74); its raw generator at 12,000: 9.32 / 5.8, coverage 0.74–0.94 (mean
0.85). Lowest class 7 at 0.71; class 4 at 0.78 makes 7.8 % of the samples (the network
takes many of G's 4s for 9s: 9 makes 12.5–13.4 %). The clusters drawn uniformly
(``--config.code_prior.rule=uniform``, the variant until 2026-11-29), the README's first
command run in a fresh clone and venv at commit f941a6b, where that variant was briefly
the default, on the same Zen 3: 21.6 min for the command (``runtime_s`` 1296), EMA 9.35 /
FID 6.6, precision 0.94, recall 0.55, coverage 0.66–0.88 (mean 0.80; lowest class 7,
class 4 0.73); raw 9.28 / 11.3. Drawing by the data's shares raised recall from 0.55 to
0.64 and the lowest class from 0.66 to 0.71.

Its number of clusters was chosen so, with the clusters drawn uniformly (Zen 3: a 2-core
AMD EPYC, family 25 model 1, AVX2; ``lscpu``; 8,000 steps evaluated at 4,000 and 8,000;
EMA generator: MNIST score / FID /
recall / lowest class coverage / mean class coverage), against ``infogan`` at the same
steps on the same CPU (the first 8,000 steps of its 24,000-step run below, evaluated
every 4,000: constant learning rates make them ``infogan``'s, bit for bit):

- ``infogan``: 8.67 / 18.8 / 0.59 / 0.50 / 0.65 at 4,000 steps; 9.56 / 9.8 / 0.59 /
  0.68 / 0.74 at 8,000.
- 30 clusters (``python -m experiments.mnist
  --config=experiments/configs/mnist_cgan.py --config.data.clusters=30
  --config.total_steps=8000 --config.eval.every_steps=4000``, which is this variant
  with those overrides and ``--config.code_prior.rule=uniform``): 9.18 / 11.8 / 0.67 /
  0.65 / 0.78;
  at 8,000, 9.26 / 10.4 / 0.70 / 0.73 / 0.83.
- 50 clusters, by a scratch version of this feature whose k-means stopped after 30
  iterations (40 of the 5,000 digits in another cluster than this config's): 9.31 /
  10.3 / 0.62 / 0.62 / 0.79; at 8,000, 9.33 / 8.0 / 0.65 / 0.74 / 0.83.
- 100 clusters (the same scratch script, whose clusters equal ``data.clusters=100``'s):
  at 4,000 steps 9.44 / 12.8 / 0.30 / 0.58 / 0.69, stopped there: with about 50 digits a
  cluster, recall halves.

At 8,000 steps 30 and 50 clusters cover the classes alike and better than ``infogan``
at 8,000 (0.68 / 0.74); ``infogan`` reaches their mean (0.82) only at 24,000 steps,
with a lowest class of 0.77 there. 50 had the better FID and score. With the
clusters drawn uniformly, a class's share of the samples follows its number of
clusters: 4 has 3 of the 50 and 5 has 7, and at 8,000 steps (the scratch run) 4 made
8.1 % of the samples and was the least covered class with 7. Hence the draw by the
data's shares, measured above.

How ``infogan`` was chosen (seed 0, one run each; EMA generator, MNIST score / FID; 2,000-step
runs take about 3.2 min). NOCODE stands for ``--config.model.conditional=False
--config.model.discriminator.conditioning=none --config.loss.auxiliary_on_real=True``
(this config without the code), TUTORIAL_D for
``--config.model.discriminator.batch_norm=False
--config.model.discriminator.dropout_rate=0.3``:

- NOCODE TUTORIAL_D ``--config.total_steps=2000``, both learning rates 2e-4
  (``--config.optimizer.g.learning_rate=2e-4 --config.optimizer.d.learning_rate=2e-4``):
  5.64 / 144.4; at 5e-4: 6.31 / 84.2; at 1e-3: 6.78 / 57.6; at 2e-3: 6.67 / 66.3.
- NOCODE at 2e-4 and 2,000 steps, D with BatchNorm and dropout 0.3: 6.16 / 95.9; with
  BatchNorm and no dropout: 6.55 / 83.9; the same at 1e-3: 6.98 / 40.8; with D's base
  width 64 instead of 32: 7.00 / 45.8 (and 1.8× slower).
- NOCODE at 6,000 steps: 7.31 / 28.5; at 7,000: 7.34 / 26.7 (a fresh-clone run of the
  README command); at 7,000 with the rates decayed linearly to 0
  (``schedule='linear_decay'``): 7.14 / 40.3; with DiffAugment translation
  (``--config.augment.policy=translation``): 7.26 / 32.6. Neither was kept.
- With the code (this config) at 2,000 steps: 7.79 / 31.2 against NOCODE's 6.98 / 40.8;
  at 7,000: 9.71 / 10.9 against 7.34 / 26.7. Without a code, G blends classes: many
  of its digits are malformed and it under-produces some classes (4: 5 %, 9: 16 %).

Training longer is what raised coverage most (Zen 5, EMA; seed 0, then seed 1):

- 7,000 steps (``--config.total_steps=7000``, 4.7–5.5 min): 9.71 / 10.9, coverage
  0.61–0.84, mean 0.73; seed 1 9.36 / 13.3, 0.60–0.81, mean 0.69.
- 12,000 (this config, 7.6–8.5 min): 9.77 / 8.1, 0.70–0.88, mean 0.79; seed 1 9.78 /
  8.6, 0.68–0.88, mean 0.76.
- 14,000 (``--config.total_steps=14000``, 9.5 min): 9.77 / 6.4, 0.74–0.90, mean 0.82:
  too close to 10 minutes for a machine whose step time drifts by a fifth.

But not past 0.8: twice this config's length, evaluated every 4,000 steps
(``--config.total_steps=24000 --config.eval.every_steps=4000``; 46.6 min on a 2-core
AMD EPYC Zen 3, the first 12,000 steps this config's, bit for bit, since the learning
rates are constant), the EMA generator's lowest / mean class coverage went 0.50 / 0.65
(4,000 steps), 0.68 / 0.74 (8,000), 0.74 / 0.80 (12,000), 0.74 / 0.81 (16,000), 0.74 /
0.82 (20,000) and 0.77 / 0.82 (24,000), recall 0.58–0.64 throughout, while FID fell
from 18.8 (4,000) and 8.7 (12,000) to 4.9 (20,000) and 5.8, and from 12,000 steps on
every class kept 9.5–10.4 % of the samples; the lowest class was 7 at every
evaluation from 8,000 steps on but 16,000 (class 3, 0.736 against 7's 0.740). The
coverage target is out of reach of this recipe at any length, not only in 10 minutes:
what it lacks is variety within the classes.

The rest ran at 7,000 steps, the config's length until 2026-11-28; the probes through a
config file equal to this one with the overrides above (their EMA numbers do not depend
on whether the raw generator was evaluated too). Rerun with this file at 7,000 steps
(``docs/benchmarks.md``'s MNIST ablation table, from their ``results.json``): NOCODE
7.34 / 26.7 again, every class's coverage 0.40–0.80 and class shares 5.0–15.9 %; the
code's weight λ = 0.25 (``--config.loss.auxiliary_weight=0.25``): 9.15 / 12.1, coverage
0.59–0.84, so λ stays 1; batch 32 for 12,000 steps (``--config.batch_size=32
--config.total_steps=12000``, 9.5 min): 9.83 / 13.5, coverage 0.59–0.85, so the batch
stays 64; DiffAugment translation with the code
(``--config.augment.policy=translation``; 5.2 min on Zen 5): 7.04 / 154.7, coverage
0.00–0.03: G collapses to nearly one digit per code, so no augmentation; batch 128 for
3,500 steps (``--config.batch_size=128 --config.total_steps=3500``, 5.5 min on Zen 5):
8.59 / 18.5, coverage 0.44–0.84, class shares 5.9–18.8 %.

Probes for coverage at 7,000 steps (Zen 5, rows in the same table). MSGAN's mode-seeking
term in G's loss (``--config.loss.mode_seeking_weight=0.1``,
``ganjax.losses.mode_seeking_loss``; G's batch in pairs that share a code): recall rises
to 0.65 (seed 0) and 0.63 (seed 1), but the codes align less well with the digits (class
2 makes 5.6 % and 7.2 % of the samples), and the lowest class falls: 8.78 / 16.1,
coverage 0.33–0.87 (seed 0); 9.20 / 10.3, 0.55–0.84 (seed 1). So λ stays 0. D without
BatchNorm (``--config.model.discriminator.batch_norm=False``) collapses (4.05 / 510.2);
with R1 and R2 at γ/2 = 0.05 on every 4th D update besides
(``--config.loss.penalties.r1.weight=0.05 --config.loss.penalties.r1.every=4``, the same
for ``r2``) it trains: 8.69 / 14.7, recall 0.74, coverage 0.57–0.90, class shares
7.1–15.8 % (6.6 min): more recall, no better lowest class. Two more of the kind,
against 9.71 / 10.9, recall 0.52, coverage 0.61–0.84 (mean 0.73) at 7,000 steps:
ProGAN's minibatch standard deviation in D over groups of 4
(``--config.model.discriminator.minibatch_std_group=4``, 5.0 min): 9.20 / 10.7, recall
0.61, coverage 0.62–0.82 (mean 0.69), class shares 8.2–11.3 %; PacGAN2
(``--config.model.discriminator.packing=2``, 4.1 min): 8.42 / 17.0, recall 0.66,
coverage 0.44–0.76 (mean 0.61), class shares 6.4–13.8 %. Every probe that raised recall
(these two, mode seeking, R1/R2) loosened the codes' hold on the digit classes, and
the least-made classes lost more coverage than the rest gained. Three more (Zen 5, 7,000
steps) tried to keep the codes' hold while raising recall, or to widen G: R1 and R2 in
place of D's BatchNorm with the code read back three times as hard (the R1/R2 overrides
above and ``--config.loss.auxiliary_weight=3``, 7.1 min): 8.46 / 13.2, recall 0.74,
coverage 0.59–0.89 (mean 0.74), class 1 still 17.2 % of the samples; the minibatch
standard deviation with λ = 3 (``--config.model.discriminator.minibatch_std_group=4
--config.loss.auxiliary_weight=3``, 5.1 min): 9.70 / 13.0, class shares even again
(9.5–10.6 %) but recall back to 0.53 and coverage 0.60–0.86 (mean 0.73); G at 1.5×
width (``--config.model.generator.base_features=48``, 7.5 min): 8.91 / 9.0, coverage
0.50–0.85 (mean 0.69). None lifts the lowest class above the recipe's 0.61 at that length.
Three levers of the literature against mode collapse, untried on this recipe before
(Zen 5, 7,000 steps): spectral normalisation in place of D's BatchNorm
(``--config.model.discriminator.spectral_norm=True
--config.model.discriminator.batch_norm=False``, 4.7 min) and an unrolled G loss
(``--config.loss.unroll_steps=1``, 10.5 min) both collapse: G ignores z and draws one
image per code (4.93 / 308.6 and 5.15 / 285.1, coverage ≤ 0.06), the unrolled run from
its first 1,000 steps, as D without BatchNorm and DiffAugment did above: with the
code, this recipe sits close to InfoGAN's failure of a G that ignores z. One-sided label
smoothing (``--config.loss.label_smoothing=0.1``, 5.0 min): 8.98 / 16.4, coverage
0.37–0.92 (mean 0.69), class 0 at 17.8 % of the samples. None was kept.
Cheaper kernels, to train more steps in the same time (Zen 5): G's three transposed
convolutions at 3×3 (``--config.model.generator.kernel_size=3``) make a step 1.4×
faster (``python -m experiments.benchmark --config=experiments/configs/mnist_dcgan.py
--num_steps=30`` with the same overrides: 23.4 against 32.1 ms), so 16,000 steps
(``--config.total_steps=16000``) take 7.5 min, as this config's 12,000 do: 9.39 / 6.1,
recall 0.66, coverage 0.71–0.87 (mean 0.80) against 9.77 / 8.1, 0.61, 0.70–0.88 (0.79):
a better FID and recall, a lower score, the same lowest class, so G keeps 5×5. D at 3×3
too (``--config.model.discriminator.kernel_size=3``; 18.5 ms a step, 1.7× faster)
collapses as D without BatchNorm does, one image per code from its first
2,000 steps (7,000 steps, 2.6 min: 5.07 / 249.2, coverage ≤ 0.02). Adam's moments,
untried before (Zen 5): β2 0.99 for both nets (``--config.optimizer.g.b2=0.99
--config.optimizer.d.b2=0.99``) at 7,000 steps: 9.47 / 9.8, recall 0.60, coverage
0.65–0.86 (mean 0.74), class shares 8.1–11.8 %; β1 0 besides (``--config.optimizer.g.b1=0.0
--config.optimizer.d.b1=0.0``, as StyleGAN2 and R3GAN train): 9.62 / 9.2, recall 0.56,
coverage 0.63–0.88 (mean 0.75), against the recipe's 0.61–0.84 (0.73) at that length;
but at 12,000 steps (7.7 min) 9.75 / 7.7, coverage 0.67–0.90 (mean 0.79) against this
config's 9.77 / 8.1, 0.70–0.88 (0.79): no gain, so β1 stays 0.5 and β2 0.999. Two more
at 12,000 steps: G's learning rate halved (``--config.optimizer.g.learning_rate=5e-4``,
7.1 min): 9.76 / 9.1, coverage 0.66–0.87 (mean 0.76); the EMA's decay 0.9995
(``--config.ema_decay=0.9995``, 7.6 min; the raw generator bit-identical to this
config's): 9.78 / 8.4, coverage 0.71–0.89 (mean 0.79), within a seed's spread of 0.999's.
The other objectives of ``ganjax.train.objectives`` (``--config.loss.name=NAME``, 7,000
steps, Zen 5, each 8.5–9.5 min beside a long 2-D run): R3GAN's relativistic pairing
loss (``relativistic_pairing``; no R1/R2, D keeps its BatchNorm) collapses from its
first 1,000 steps, one image per code and two codes to a digit (4.39 / 304.9, coverage
≤ 0.02); the hinge loss (``hinge``): 9.69 / 11.6, recall 0.53, coverage 0.63–0.85
(mean 0.73), the non-saturating loss's numbers within a seed's spread; least squares
(``least_squares``): 9.35 / 13.5, coverage 0.60–0.85 (mean 0.71), class shares
7.3–12.9 %. The non-saturating loss stays.

Arg ``smoke`` shrinks everything for tests.
"""
from experiments.configs import defaults
from ganjax.evaluation import eval_config

# The labels of the ``clusters`` variant: k-means clusters of the training pixels.
CLUSTERS = 50
# The ``clusters`` variant's D: R1 and R2 at this weight (γ/2), lazily on every 4th update.
R1_R2_WEIGHT, R1_R2_EVERY = 0.05, 4
VARIANTS = ('clusters', 'infogan')  # the default first


def recipe():
    """What every MNIST recipe shares (this file's variants, ``mnist_cgan.py``): the
    networks, optimizers, EMA, length and metrics; D with BatchNorm, no code, no labels."""
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=12000)
    # 5×5 kernels as in the tutorial; 3×3 were probed (see above).
    config.model.generator.update(base_features=32, kernel_size=5)
    # Off, see the probes: PacGAN's packing, ProGAN's minibatch standard deviation.
    config.model.discriminator.update(base_features=32, kernel_size=5, batch_norm=True,
                                      dropout_rate=0.0, packing=1, minibatch_std_group=0)
    for side in (config.optimizer.g, config.optimizer.d):
        side.learning_rate = 1e-3
    config.ema_decay = 0.999
    config.eval.metrics = eval_config.MNIST_METRICS
    return config


def conditioned_on_labels(config):
    """G reads [z, embed(label)], D is a projection discriminator on the label."""
    config.model.conditional = True
    config.model.discriminator.conditioning = 'projection'
    return config


def get_config(arg: str | None = None):
    variant, _, smoke = defaults.parse_arg(arg, names=VARIANTS)
    config = recipe()
    if variant == 'clusters':
        conditioned_on_labels(config)
        config.data.clusters = CLUSTERS
        config.code_prior.rule = 'data'  # each cluster as often as the data holds it
        # R1 and R2 in place of D's BatchNorm (see above; with the InfoGAN code they
        # loosened the code's hold on the classes).
        config.model.discriminator.batch_norm = False
        for name in ('r1', 'r2'):
            config.loss.penalties[name].update(weight=R1_R2_WEIGHT, every=R1_R2_EVERY)
    else:
        defaults.infogan_code(config)  # 10 codes, read back with weight 1
    if smoke:
        defaults.shrink_for_smoke_test(config)
    return config
