"""Rescue stores: where rescued tasks wait to be run again."""
