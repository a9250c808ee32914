"""The prior of G's categorical code or labels: uniform, learned by EM, or the data's
label shares (``config.code_prior``).

An InfoGAN generator (Chen et al. 2016) draws its code c uniformly from K values, so
G's distribution is the mixture p_g(x) = Σ_c π_c p_g(x | c) with π_c = 1/K. Each code
comes to cover a region of the data, but nothing makes the regions' masses equal: on
the 2-D grid, 100 codes share 25 equal modes three, four or five to a mode, and the
modes' shares of G's samples follow. With ``rule='em'`` the weights π are learned:
after each step's D updates,

    π ← (1 − r) π + r · mean over the real batch of p(c | x),

where p(c | x) is D's code head (trained on G's samples to read their codes, here read
on real points). That is EM's update of mixture weights (Dempster et al. 1977) with
D's head as the E-step and a running average over batches in place of a full pass;
its fixed points are the weights under which the data are most likely given G's
components (E_{x∼p_data}[p_g(x | c) / p_g(x)] = 1 for every code in use). The learned
weights are the empirical cluster prior of self-conditioned GANs (Liu et al. 2020) with
G's codes for the clusters. A code EM gives up on is never drawn again (π_c = 0 is a
fixed point), so the update waits until step ``start`` · total_steps, when the codes
have found their regions; before that π stays uniform.

G's codes are drawn from π everywhere G's distribution is sampled: in the train step,
by ``ganjax.train.multiseed``'s evaluation samples, and in proportion to π for the
standing BatchNorm statistics those samples are drawn with (``stratified``,
``GANSetup.sampling_variables``; until 2026-11-29 those took the codes uniformly). The
learned π is part of the train state (``GANState.code_prior``; None for a uniform
prior).

With ``rule='data'`` π is fixed at the shares of the labels among the training examples
(``ganjax.data.pipeline.labelling``), for a G conditioned on the data's classes or on
k-means clusters (``data.clusters``): G is asked for each label as often as the data
holds it, as self-conditioned GANs (Liu et al. 2020) draw their clusters. Drawn
uniformly instead, a small cluster is drawn as often as a large one, and a digit class
split into few clusters is under-drawn. The image evaluations draw their labels in
proportion to π too (``spread``), so that they score G's distribution as trained. π is
in the train state, so a resumed run keeps the π it started with.
"""
import dataclasses

import jax
import jax.numpy as jnp
import ml_collections

from ganjax import errors
from ganjax.data import datasets

RULES = ('uniform', 'em', 'data')


@dataclasses.dataclass(frozen=True)
class CodePrior:
    """``rule`` (one of ``RULES``), the EM rate r and the share of training ``start``
    after which it applies."""
    rule: str = 'uniform'
    rate: float = 0.001
    start: float = 0.75

    @classmethod
    def from_config(cls, config) -> 'CodePrior':
        """The config's section; the uniform prior for configs without one."""
        return cls(**(config.get('code_prior') or {}))

    @property
    def learned(self) -> bool:
        """Whether EM updates π as G trains."""
        return self.rule == 'em'

    def initial(self, num_codes: int, label_shares=None) -> jax.Array | None:
        """π at step 0, None for the uniform rule. EM starts from uniform probabilities;
        ``rule='data'`` takes ``label_shares``, the training labels' shares (uniform
        where not given: the template of a state a checkpoint will replace)."""
        if self.rule == 'uniform':
            return None
        if self.rule == 'data' and label_shares is not None:
            return jnp.asarray(label_shares, jnp.float32)
        return jnp.full((num_codes,), 1.0 / num_codes)

    def updated(self, prior: jax.Array, real_posterior: jax.Array, step: jax.Array,
                total_steps: int) -> jax.Array:
        """π after a step: EM's running update toward ``real_posterior``, the mean of
        p(c | x) over the real batch, from step ``start`` · total_steps on."""
        rate = jnp.where(step >= self.start * total_steps, self.rate, 0.0)
        return (1.0 - rate) * prior + rate * real_posterior


def default() -> ml_collections.ConfigDict:
    """``config.code_prior``: ``CodePrior``'s defaults, the uniform prior (InfoGAN's)."""
    return ml_collections.ConfigDict(dataclasses.asdict(CodePrior()))


def sample(key: jax.Array, prior: jax.Array | None, shape: tuple[int, ...],
           num_codes: int) -> jax.Array:
    """Codes drawn from π, or uniformly from ``num_codes`` where ``prior`` is None."""
    if prior is None:
        return jax.random.randint(key, shape, 0, num_codes)
    # By inversion: one uniform number a code, where jax.random.categorical's Gumbel-max
    # trick draws K of them (docs/performance.md: the ring recipe's step 8 % faster).
    return _invert(prior, jax.random.uniform(key, shape))


def stratified(prior: jax.Array | None, num: int, num_codes: int) -> jax.Array:
    """``num`` codes in proportion to π, without sampling noise: code i is the one whose
    share of the cumulative distribution holds (i + 0.5) / num (systematic sampling),
    so code c gets π_c · num codes give or take one, and a code at π_c = 0 none. Where
    ``prior`` is None (uniform), the codes 0, 1, …, K−1 cycled."""
    if prior is None:
        return jnp.arange(num, dtype=jnp.int32) % num_codes
    return _invert(prior, (jnp.arange(num) + 0.5) / num)


def spread(prior: jax.Array | None, num: int, num_codes: int, key: jax.Array) -> jax.Array:
    """``num`` codes for a fixed set of G's samples (evaluations, standing statistics):
    ``stratified``'s, shuffled by ``key`` where π is given, so that any chunk of them
    sees all of π rather than a slice of its sorted codes (as the codes cycled do)."""
    codes = stratified(prior, num, num_codes)
    return codes if prior is None else jax.random.permutation(key, codes)


def _invert(prior: jax.Array, u: jax.Array) -> jax.Array:
    """The code c whose share [F(c − 1), F(c)) of π's cumulative distribution F holds u ∈
    [0, 1) (``cumulative``): a code at π_c = 0 has an empty share and is never returned,
    not even for u within rounding of 0 or 1."""
    return jnp.searchsorted(cumulative(prior), u, side='right').astype(jnp.int32)


def cumulative(prior: jax.Array) -> jax.Array:
    """π's cumulative distribution F: non-decreasing, flat to the last bit over codes of
    probability 0, ending at exactly 1. XLA sums a prefix as a tree of partial sums, so
    the sum repeated at a code of probability 0 can differ from its neighbour's in the
    last bit and the sums can even dip (seen on CPU from some hundreds of codes on): the
    running maximum of the sums at the codes in use is flat and monotone where they are
    not. Normalised by its last entry, the total, F is 1 exactly from the last code in
    use on: XLA may divide by multiplying with the total's reciprocal, which leaves
    x / x a bit below 1 (and would give that share to trailing codes of probability 0)."""
    sums = jax.lax.cummax(jnp.where(prior > 0, jnp.cumsum(prior), 0.0))
    total = sums[-1]
    return jnp.where(sums < total, jnp.minimum(sums / total, 1.0), 1.0)


def mean_posterior(class_logits: jax.Array, num_codes: int) -> jax.Array:
    """(K,) mean of softmax(``class_logits``) over a batch; a packing D's head gives each
    member's logits, (B / m, m·K) or (B, K)."""
    return jnp.mean(jax.nn.softmax(class_logits.reshape(-1, num_codes)), axis=0)


def has_infogan_code(config) -> bool:
    """Whether G's labels are an InfoGAN code rather than the data's classes: a
    conditional model whose D never learns the data's labels (``loss.auxiliary_on_real``
    False, which validation allows only with an auxiliary head). Which code comes to
    stand for which class is G's own choice, so a code is no class label to score."""
    model, loss = config.get('model') or {}, config.get('loss') or {}
    return bool(model.get('conditional')) and not loss.get('auxiliary_on_real', True)


def labels_are_classes(config) -> bool:
    """Whether the labels G is given, if any, are the data's classes, to score as such
    (``label_accuracy``): neither an InfoGAN code nor k-means clusters of the data
    (``data.clusters``)."""
    return not has_infogan_code(config) and datasets.num_clusters(config.get('data') or {}) is None


def validate(config) -> None:
    """Raises ``errors.ConfigError`` for a bad ``code_prior`` section, a learned prior
    without an InfoGAN code to learn it for, or the data's shares without data labels."""
    errors.known_keys(config, 'code_prior', CodePrior)
    prior = CodePrior.from_config(config)
    errors.require(prior.rule in RULES, 'code_prior.rule', prior.rule, f'be one of {RULES}')
    if prior.rule == 'data':
        data = config.get('data') or {}
        errors.require(
            bool(data) and data.get('name') not in datasets.STACKED
            and bool(config.model.get('conditional')) and not has_infogan_code(config),
            'code_prior.rule', prior.rule,
            "be 'data' only for G conditioned on the labels or data.clusters of stored "
            'images (model.conditional, no InfoGAN code; not Stacked MNIST, whose '
            'examples are drawn)')
        return
    if not prior.learned:
        return
    errors.require(errors.is_finite_number(prior.rate) and 0 < prior.rate <= 1,
                   'code_prior.rate', prior.rate, 'be in (0, 1]')
    errors.require(errors.is_finite_number(prior.start) and 0 <= prior.start < 1,
                   'code_prior.start', prior.start, 'be in [0, 1)')
    discriminator = config.model.get('discriminator') or {}
    errors.require(
        has_infogan_code(config) and discriminator.get('conditioning') == 'auxiliary',
        'code_prior.rule', prior.rule,
        "be 'uniform' unless G has an InfoGAN code (model.conditional, "
        "model.discriminator.conditioning='auxiliary', loss.auxiliary_on_real=False): "
        "EM reads G's code back with D's code head")
    errors.require(not tuple(discriminator.get('class_factors', ())), 'code_prior.rule',
                   prior.rule, "be 'uniform' with model.discriminator.class_factors (a "
                   "factorised head gives no joint posterior over the codes)")
