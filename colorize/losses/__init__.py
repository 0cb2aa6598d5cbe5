"""Training losses, one module per family: `perceptual` (VGG features, pixel and chroma L1), `colour` (ab-bin
classification, colourfulness), `adversarial` (every GAN loss with its formula and source, and the critic's
regularisers); `objective` composes the generator's reconstruction loss from the first two."""

from colorize.losses.adversarial import ADVERSARIAL_LOSSES, AdversarialLoss, adversarial_loss
from colorize.losses.objective import Objective
from colorize.losses.perceptual import PerceptualLoss, VggSource, find_vgg, hed_weights_path

__all__ = ["ADVERSARIAL_LOSSES", "AdversarialLoss", "Objective", "PerceptualLoss", "VggSource", "adversarial_loss",
           "find_vgg", "hed_weights_path"]
