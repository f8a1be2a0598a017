using PicSharp.Storage;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>The run's loss curve as a PNG: training and validation loss against tokens seen.</summary>
static class LossCurve
{
    public static void Save(IReadOnlyList<MetricsRecord> metrics, string path)
    {
        var plot = new ScottPlot.Plot();
        AddSeries(plot, metrics.Where(m => m.Kind == "train").ToList(), "train", markers: false);
        AddSeries(plot, metrics.Where(m => m.Kind == "eval").ToList(), "validation", markers: true);
        plot.XLabel("tokens seen");
        plot.YLabel("loss (nats/token)");
        plot.ShowLegend();
        byte[] png = plot.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    static void AddSeries(ScottPlot.Plot plot, List<MetricsRecord> records, string label, bool markers)
    {
        if (records.Count == 0) return;
        var series = plot.Add.Scatter(records.Select(r => (double)r.TokensSeen).ToArray(), records.Select(r => r.Loss).ToArray());
        series.LegendText = label;
        series.MarkerSize = markers ? 6 : 0;
        if (markers) series.LineWidth = 0;
    }
}
