using PicSharp.Cli;

return await CommandCatalog.InvokeAsync("pic: soft-prompt context compression (PIC) on Llama-family models", CommandCatalog.All(), args);
