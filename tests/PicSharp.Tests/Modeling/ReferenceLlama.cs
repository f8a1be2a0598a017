using PicSharp.Modeling;
using TorchSharp;

namespace PicSharp.Tests.Modeling;

/// <summary>
/// An independent, deliberately naive Llama forward in double-precision loops over plain arrays: no TorchSharp
/// kernels, no shared code with the model beyond reading its weights by Hugging Face name. Written from the
/// architecture's definition (RMSNorm, rotate-half RoPE with Llama 3 frequency scaling, GQA with head h using K/V
/// head h / (H / Hkv), SwiGLU, biases where the checkpoint has them, Qwen3's per-head RMSNorm of q and k before RoPE).
/// </summary>
sealed class ReferenceLlama(LlamaConfig config, IReadOnlyDictionary<string, double[]> weights)
{
    public static ReferenceLlama From(LlamaForCausalLM model)
    {
        var weights = model.named_parameters().ToDictionary(
            p => p.name, p => p.parameter.detach().to(torch.ScalarType.Float64).flatten().data<double>().ToArray());
        return new ReferenceLlama(model.Config, weights);
    }

    double[] W(string name) => weights[name];

    /// <summary>Logits [seq][vocab] for one sequence of token ids with causal attention.</summary>
    public double[][] Logits(int[] tokens)
    {
        int d = config.HiddenSize, T = tokens.Length;
        var x = tokens.Select(t => W("model.embed_tokens.weight").Skip(t * d).Take(d).ToArray()).ToArray();
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            string p = $"model.layers.{layer}.";
            var normed = x.Select(v => RmsNorm(v, W(p + "input_layernorm.weight"))).ToArray();
            var attention = Attention(normed, p + "self_attn.");
            for (int t = 0; t < T; t++) x[t] = Add(x[t], attention[t]);
            for (int t = 0; t < T; t++)
            {
                var h = RmsNorm(x[t], W(p + "post_attention_layernorm.weight"));
                var gate = Linear(h, p + "mlp.gate_proj", config.IntermediateSize);
                var up = Linear(h, p + "mlp.up_proj", config.IntermediateSize);
                var act = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                x[t] = Add(x[t], Linear(act, p + "mlp.down_proj", d));
            }
        }
        string head = config.TieWordEmbeddings ? "model.embed_tokens" : "lm_head";
        return x.Select(v => Linear(RmsNorm(v, W("model.norm.weight")), head, config.VocabSize)).ToArray();
    }

    double[][] Attention(double[][] x, string p)
    {
        int T = x.Length, H = config.NumAttentionHeads, Hkv = config.NumKeyValueHeads, D = config.HeadDim;
        var q = x.Select(v => Linear(v, p + "q_proj", H * D)).ToArray();
        var k = x.Select(v => Linear(v, p + "k_proj", Hkv * D)).ToArray();
        var v = x.Select(v => Linear(v, p + "v_proj", Hkv * D)).ToArray();
        for (int t = 0; t < T; t++)
        {
            if (config.QkNorm)
            {
                for (int h = 0; h < H; h++) NormalizeHead(q[t], h * D, W(p + "q_norm.weight"));
                for (int h = 0; h < Hkv; h++) NormalizeHead(k[t], h * D, W(p + "k_norm.weight"));
            }
            for (int h = 0; h < H; h++) Rotate(q[t], h * D, t);
            for (int h = 0; h < Hkv; h++) Rotate(k[t], h * D, t);
        }
        var output = new double[T][];
        for (int t = 0; t < T; t++)
        {
            output[t] = new double[H * D];
            for (int h = 0; h < H; h++)
            {
                int kvHead = h / (H / Hkv);
                var scores = new double[t + 1];
                for (int s = 0; s <= t; s++)
                {
                    double dot = 0;
                    for (int i = 0; i < D; i++) dot += q[t][h * D + i] * k[s][kvHead * D + i];
                    scores[s] = dot / Math.Sqrt(D);
                }
                double max = scores.Max();
                var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                double sum = weights.Sum();
                for (int s = 0; s <= t; s++)
                    for (int i = 0; i < D; i++)
                        output[t][h * D + i] += weights[s] / sum * v[s][kvHead * D + i];
            }
        }
        return output.Select(o => Linear(o, p + "o_proj", config.HiddenSize)).ToArray();
    }

    void NormalizeHead(double[] vector, int offset, double[] weight)
    {
        var normed = RmsNorm(vector[offset..(offset + config.HeadDim)], weight);
        Array.Copy(normed, 0, vector, offset, normed.Length);
    }

    // Pairs (i, i + D/2) rotated by angle position · f_i, f_i = theta^(-2i/D) (rescaled per Llama 3.1 if configured).
    void Rotate(double[] vector, int offset, int position)
    {
        int D = config.HeadDim, half = D / 2;
        for (int i = 0; i < half; i++)
        {
            double angle = position * Frequency(i);
            double a = vector[offset + i], b = vector[offset + i + half];
            vector[offset + i] = a * Math.Cos(angle) - b * Math.Sin(angle);
            vector[offset + i + half] = a * Math.Sin(angle) + b * Math.Cos(angle);
        }
    }

    // Llama 3.1's rule, from Meta's reference code: wavelengths under original/high_freq_factor are kept, those over
    // original/low_freq_factor are slowed by `factor`, and the band between blends the two linearly in original/wavelength.
    double Frequency(int i)
    {
        double f = Math.Pow(config.RopeTheta, -2.0 * i / config.HeadDim);
        if (config.RopeScaling is not { } s) return f;
        double wavelength = 2 * Math.PI / f;
        if (wavelength < s.OriginalMaxPositionEmbeddings / s.HighFreqFactor) return f;
        if (wavelength > s.OriginalMaxPositionEmbeddings / s.LowFreqFactor) return f / s.Factor;
        double blend = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return blend * f + (1 - blend) * f / s.Factor;
    }

    double[] Linear(double[] input, string name, int outFeatures)
    {
        var w = W(name + ".weight");
        weights.TryGetValue(name + ".bias", out var bias);
        var y = new double[outFeatures];
        for (int o = 0; o < outFeatures; o++)
        {
            double sum = bias?[o] ?? 0;
            for (int i = 0; i < input.Length; i++) sum += w[o * input.Length + i] * input[i];
            y[o] = sum;
        }
        return y;
    }

    double[] RmsNorm(double[] v, double[] weight)
    {
        double scale = 1 / Math.Sqrt(v.Average(a => a * a) + config.RmsNormEps);
        return v.Select((a, i) => a * scale * weight[i]).ToArray();
    }

    static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();
}
