"""Language models of the PCO stage (paper sec. 4.3): tokenizer, prompts, Novelty LLM,
Relevance LLM (reward model) and the KL-regularised DPO trainer.

No Kafka or Faust imports here: everything is testable alone.
"""
