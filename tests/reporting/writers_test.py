"""Tests for ganjax.reporting.writers: metrics.jsonl, TensorBoard events, progress lines."""

import io
import logging
import math
import os
import struct

import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest
from tensorboardX.proto import event_pb2

from ganjax.reporting import writers


def read_events(workdir) -> list:
    """All summary values in the TensorBoard event files, as (step, tag, value) triples.

    Event files are TFRecords: an 8-byte length, its 4-byte CRC, the payload and its
    4-byte CRC.
    """
    directory = os.path.join(workdir, 'tensorboard')
    values = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), 'rb') as f:
            data = f.read()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack('<Q', data[offset:offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            values += [(event.step, v.tag, v) for v in event.summary.value]
    return values


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_scalars_go_to_jsonl_and_tensorboard(tmp_path):
    with writers.MetricWriter(str(tmp_path)) as writer:
        writer.write_scalars(1, {'train/d_loss': jnp.float32(0.5), 'train/g_loss': 2.0})
        writer.write_scalars(2, {'train/d_loss': np.float64(0.25), 'perf/count': np.int32(7)})
    records = writers.read_metrics(str(tmp_path / 'metrics.jsonl'))
    assert records == [
        {'step': 1, 'train/d_loss': 0.5, 'train/g_loss': 2.0},
        {'step': 2, 'train/d_loss': 0.25, 'perf/count': 7},
    ]
    assert isinstance(records[1]['perf/count'], int)
    scalars = {(step, tag): v.simple_value for step, tag, v in read_events(tmp_path)}
    assert scalars == {(1, 'train/d_loss'): 0.5, (1, 'train/g_loss'): 2.0,
                       (2, 'train/d_loss'): 0.25, (2, 'perf/count'): 7.0}


def test_each_line_is_on_disk_before_close(tmp_path):
    writer = writers.MetricWriter(str(tmp_path))
    writer.write_scalars(3, {'train/d_loss': 1.0})
    # Read while the writer is still open: what a SIGKILL right now would leave.
    assert writers.read_metrics(str(tmp_path / 'metrics.jsonl')) == [
        {'step': 3, 'train/d_loss': 1.0}]
    writer.close()


@pytest.mark.parametrize('shape', [(4, 6, 3), (5, 3, 1)])
def test_images_go_to_tensorboard_unchanged(tmp_path, shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    with writers.MetricWriter(str(tmp_path)) as writer:
        writer.write_images(9, {'samples': image})
    [(step, tag, value)] = read_events(tmp_path)
    assert (step, tag) == (9, 'samples')
    decoded = np.asarray(Image.open(io.BytesIO(value.image.encoded_image_string)))
    decoded = decoded.reshape(shape[:2] + (-1,))
    # tensorboardX stores grayscale as RGB with three equal channels.
    np.testing.assert_array_equal(decoded, np.broadcast_to(image, decoded.shape))
    assert not os.path.exists(tmp_path / 'metrics.jsonl')


@pytest.mark.parametrize('image', [
    np.zeros((4, 4, 3), np.float32),
    np.zeros((2, 4, 4, 3), np.uint8),
    np.zeros((4, 4, 2), np.uint8),
])
def test_bad_image_raises(tmp_path, image):
    with (writers.MetricWriter(str(tmp_path)) as writer,
          pytest.raises(ValueError, match=r"images\['grid'\]")):
        writer.write_images(1, {'grid': image})


def test_non_scalar_metric_raises(tmp_path):
    with (writers.MetricWriter(str(tmp_path)) as writer,
          pytest.raises(ValueError, match='train/d_loss')):
        writer.write_scalars(1, {'train/d_loss': np.zeros(2)})


def test_disabled_writer_writes_nothing(tmp_path):
    workdir = tmp_path / 'work'
    with writers.MetricWriter(str(workdir), enabled=False) as writer:
        writer.write_scalars(1, {'train/d_loss': 1.0})
        writer.write_images(1, {'samples': np.zeros((2, 2, 3), np.uint8)})
        writer.truncate_after(0)
        writer.flush()
    assert not workdir.exists()


def write_run(workdir, steps) -> None:
    with writers.MetricWriter(str(workdir)) as writer:
        for step in steps:
            writer.write_scalars(step, {'train/d_loss': 1.0 / step})


@pytest.mark.parametrize('killed_mid_line', [False, True])
def test_resume_reproduces_uninterrupted_file(tmp_path, killed_mid_line):
    write_run(tmp_path / 'uninterrupted', range(1, 11))

    # Interrupted run: logged up to step 7, last checkpoint at step 5.
    resumed = tmp_path / 'resumed'
    write_run(resumed, range(1, 8))
    if killed_mid_line:
        with open(resumed / 'metrics.jsonl', 'a', encoding='utf-8') as f:
            f.write('{"step": 8, "train/d_l')
    with writers.MetricWriter(str(resumed)) as writer:
        writer.truncate_after(5)
        for step in range(6, 11):
            writer.write_scalars(step, {'train/d_loss': 1.0 / step})

    assert ((resumed / 'metrics.jsonl').read_text()
            == (tmp_path / 'uninterrupted' / 'metrics.jsonl').read_text())


def test_truncate_after_a_write_reopens_the_file(tmp_path):
    with writers.MetricWriter(str(tmp_path)) as writer:
        writer.write_scalars(1, {'a': 1.0})
        writer.write_scalars(2, {'a': 2.0})
        writer.truncate_after(1)
        writer.write_scalars(2, {'a': 3.0})
    assert writers.read_metrics(str(tmp_path / 'metrics.jsonl')) == [
        {'step': 1, 'a': 1.0}, {'step': 2, 'a': 3.0}]


def test_a_metrics_file_removed_mid_run_is_written_again(tmp_path):
    with writers.MetricWriter(str(tmp_path)) as writer:
        writer.write_scalars(1, {'a': 1.0})
        os.remove(tmp_path / 'metrics.jsonl')
        writer.write_scalars(2, {'a': 2.0})
    assert writers.read_metrics(str(tmp_path / 'metrics.jsonl')) == [{'step': 2, 'a': 2.0}]


def test_read_metrics_skips_half_written_last_line(tmp_path, caplog):
    path = tmp_path / 'metrics.jsonl'
    path.write_text('{"step": 1, "a": 1.5}\n{"step": 2, "a": ')
    with caplog.at_level(logging.WARNING):
        assert writers.read_metrics(str(path)) == [{'step': 1, 'a': 1.5}]
    assert 'half-written' in caplog.text


@pytest.mark.parametrize('metrics, bad_names', [
    ({'train/d_loss': float('nan'), 'train/g_loss': 1.0}, ['train/d_loss']),
    ({'train/d_loss': 1.0, 'train/g_loss': -np.inf}, ['train/g_loss']),
    ({'a': jnp.array([1.0, jnp.inf]), 'b': jnp.float32(jnp.nan)}, ['a', 'b']),
])
def test_check_finite_names_step_and_metrics(metrics, bad_names):
    with pytest.raises(writers.NonFiniteLossError) as error:
        writers.check_finite(1234, metrics)
    message = str(error.value)
    assert 'step 1234' in message
    for name in metrics:
        assert (name in message) == (name in bad_names)


@pytest.mark.parametrize('metrics', [{}, {'a': 1.0, 'b': np.float32(-3.0), 'c': jnp.zeros(3)}])
def test_check_finite_accepts_finite(metrics):
    writers.check_finite(1, metrics)


def test_progress_line_rates_and_eta(caplog):
    clock = FakeClock()
    reporter = writers.ProgressReporter(total_steps=5000, batch_size=64, start_step=1000,
                                        clock=clock)
    clock.now += 20.0
    with caplog.at_level(logging.INFO):
        progress = reporter.update(
            1200, {'train/d_loss': 1.2344, 'train/g_loss': jnp.float32(0.987)})
    # 200 steps in 20 s: 10 steps/s, 640 img/s; 3800 steps left: 380 s.
    assert progress.steps_per_sec == 10.0
    assert progress.images_per_sec == 640.0
    assert progress.eta_sec == 380.0
    assert progress.line == ('step 1200/5000 (24.0%) | d_loss 1.234 g_loss 0.987 | '
                             '640 img/s | ETA 6m20s')
    assert progress.line in caplog.text


def test_progress_eta_uses_recent_window():
    clock = FakeClock()
    reporter = writers.ProgressReporter(total_steps=1000, batch_size=1, eta_window=2, clock=clock)
    # A slow first interval (compilation), then 100 steps per 10 s.
    for step, seconds in [(100, 100.0), (200, 10.0), (300, 10.0)]:
        clock.now += seconds
        progress = reporter.update(step, {})
    assert progress.steps_per_sec == 10.0
    # The window of 2 intervals no longer contains the slow one: 700 steps at 10 / s.
    assert progress.eta_sec == 70.0
    assert progress.line == 'step 300/1000 (30.0%) | 10 img/s | ETA 1m10s'


def test_progress_without_elapsed_time_has_unknown_eta():
    reporter = writers.ProgressReporter(total_steps=10, batch_size=4, clock=FakeClock())
    progress = reporter.update(1, {})
    assert math.isnan(progress.steps_per_sec) and math.isnan(progress.eta_sec)
    assert progress.line.endswith('ETA ?')


@pytest.mark.parametrize('argument', ['total_steps', 'batch_size', 'eta_window'])
def test_progress_rejects_non_positive_arguments(argument):
    kwargs = {'total_steps': 10, 'batch_size': 4, argument: 0}
    with pytest.raises(ValueError, match=argument):
        writers.ProgressReporter(**kwargs)


@pytest.mark.parametrize('seconds, expected', [
    (0.4, '0s'), (41, '41s'), (281, '4m41s'), (3600, '1h00m00s'), (7481.6, '2h04m42s'),
    (math.inf, '?'), (math.nan, '?'),
])
def test_format_duration(seconds, expected):
    assert writers.format_duration(seconds) == expected
