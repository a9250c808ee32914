"""Trains the MNIST feature network and writes its weights and record into the package.

    python -m experiments.train_classifier --config=experiments/configs/mnist_classifier.py

``--out_dir`` writes elsewhere (the evaluators read ``ganjax/evaluation/weights``).
"""
import json

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments.support import classifier_training
from ganjax.evaluation import feature_network
from ganjax.harness import cli

config_flags.DEFINE_config_file('config', 'experiments/configs/mnist_classifier.py',
                                'Classifier config file.', lock_config=True)
_OUT_DIR = flags.DEFINE_string('out_dir', feature_network.WEIGHTS_DIR,
                               'Where to write mnist_classifier.{npz,json}.')


def main(argv):
    del argv
    cli.quiet_library_logs()

    def run():
        params, record = classifier_training.train(
            cli.loaded_config('experiments.train_classifier'))
        path = feature_network.save(params, record, _OUT_DIR.value)
        print(json.dumps({'weights': path, 'heldout_accuracy': record['heldout_accuracy'],
                          'heldout_data': record['heldout_data']}))
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
