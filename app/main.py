"""Tensor Frames Explorer (placeholder page until the explorer lands)."""
import streamlit as st

st.set_page_config(page_title="Tensor Frames Explorer", layout="wide")
st.title("Tensor Frames Explorer")
st.write("Make any message-passing network O(3)-equivariant, and see why it works.")
st.info("The interactive explorer is being built. The library is usable now: see README.md.")
