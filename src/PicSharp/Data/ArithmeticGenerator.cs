using System.Globalization;

namespace PicSharp.Data;

/// <summary>
/// Short arithmetic word problems with a whole-number answer (a stand-in for GSM8K). The context is the problem, the
/// question asks for the quantity, and the answer is the number. The number is computed, not read off the context,
/// so its answer_start is -1 (SQuAD's scorer uses only the answer text; <see cref="SquadDataset"/> accepts -1 as
/// "free-form"). People are named from the split's own <see cref="NameInventory"/>.
/// </summary>
public sealed class ArithmeticGenerator
{
    static readonly string[] Items = ["apples", "marbles", "stickers", "pencils", "books", "eggs", "cookies", "stamps",
        "shells", "coins", "cards", "buttons", "oranges", "candles", "beads"];
    static readonly string[] Containers = ["boxes", "bags", "crates", "jars", "baskets", "packets"];
    static readonly string[] Things = ["lamp", "backpack", "kite", "radio", "chair", "bicycle bell", "teapot", "notebook"];

    delegate (string Problem, string Question, int Answer) Problem(Random random, NameInventory names);

    static readonly Problem[] Problems =
    [
        (random, names) =>
        {
            string a = names.Word(), b = names.Word(), item = FactsGenerator.Pick(random, Items);
            int x = random.Next(5, 60), y = random.Next(2, 40), z = random.Next(1, x + y);
            return ($"{a} has {x} {item}. {a} buys {y} more {item}. Then {a} gives {z} {item} to {b}.",
                $"How many {item} does {a} have now?", x + y - z);
        },
        (random, names) =>
        {
            string a = names.Word(), item = FactsGenerator.Pick(random, Items), box = FactsGenerator.Pick(random, Containers);
            int n = random.Next(2, 13), m = random.Next(3, 25);
            return ($"{a} buys {n} {box} of {item}. Each of the {box} holds {m} {item}.",
                $"How many {item} does {a} buy in total?", n * m);
        },
        (random, names) =>
        {
            string a = names.Word(), thing = FactsGenerator.Pick(random, Things);
            int x = random.Next(3, 40), w = random.Next(2, 15), y = random.Next(1, x * w);
            return ($"{a} saves {x} dollars every week for {w} weeks, and then spends {y} dollars on a {thing}.",
                $"How many dollars does {a} have left?", x * w - y);
        },
        (random, names) =>
        {
            string a = names.Word(), item = FactsGenerator.Pick(random, Items);
            int k = random.Next(2, 10), n = random.Next(2, 20);
            return ($"{a} has {n * k} {item} and shares them equally among {k} friends.",
                $"How many {item} does each friend get?", n);
        },
        (random, names) =>
        {
            string a = names.Word();
            int speed = random.Next(8, 30), hours = random.Next(2, 9), rest = random.Next(1, speed * hours);
            return ($"{a} cycles at {speed} kilometres per hour for {hours} hours. {a} has already covered {rest} of those kilometres.",
                $"How many kilometres does {a} still have to cycle?", speed * hours - rest);
        },
        (random, names) =>
        {
            string a = names.Word(), b = names.Word(), item = FactsGenerator.Pick(random, Items);
            int x = random.Next(2, 30), k = random.Next(2, 6);
            return ($"{a} has {x} {item}. {b} has {k} times as many {item} as {a}.",
                $"How many {item} do {a} and {b} have together?", x + k * x);
        },
        (random, names) =>
        {
            string a = names.Word(), thing = FactsGenerator.Pick(random, Things);
            int price = random.Next(2, 30), n = random.Next(2, 6), paid = (price * n / 10 + 1 + random.Next(3)) * 10;
            return ($"A {thing} costs {price} dollars. {a} buys {n} of them and pays with {paid} dollars.",
                $"How many dollars of change does {a} get?", paid - price * n);
        },
    ];

    public List<SquadExample> Generate(DataSplit split, int count, int seed)
    {
        var random = new Random(seed);
        var names = new NameInventory(split, random);
        var examples = new List<SquadExample>(count);
        for (int i = 0; i < count; i++)
        {
            var (problem, question, answer) = Problems[random.Next(Problems.Length)](random, names);
            examples.Add(new SquadExample($"arithmetic-{split.QaName()}-{seed}-{i}", $"arithmetic {split.QaName()} {i}", problem,
                question, [new SquadAnswer(answer.ToString(CultureInfo.InvariantCulture), -1)]));
        }
        return examples;
    }
}
