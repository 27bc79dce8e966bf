"""Delivery: one recipe row trained on all labelled data (:mod:`~scarce.deliver.train`), what a
remedy built described for the model card (:mod:`~scarce.deliver.parts`), the saved model and
``predict`` (:mod:`~scarce.deliver.saved_model`) and its inputs read per modality
(:mod:`~scarce.deliver.inputs`)."""
