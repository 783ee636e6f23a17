"""Voice assistant: utterances (text, or audio through a speech-to-text port) become typed intents,
executed through the public REST API with the caller's own token (sigec_actors.voice.service)."""
